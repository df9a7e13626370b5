import CDeltaflowPlugin

/// One invocation of a node: read inputs by name, set outputs by name. Valid only inside the
/// node's `process` closure.
public struct Call {
    let raw: UnsafePointer<df_call>
    let node: NodeDefinition

    init(_ raw: UnsafePointer<df_call>, node: NodeDefinition) {
        self.raw = raw
        self.node = node
    }

    /// This call's seed (from the workflow seed and the item): the only source of randomness.
    public var seed: UInt64 { raw.pointee.seed }
    /// Threads this call may use for its own work.
    public var threads: Int { Int(raw.pointee.threads) }
    /// The file being processed, for per-item nodes.
    public var itemPath: String? { raw.pointee.item_path.map { String(cString: $0) } }
    public var itemRelativePath: String? { raw.pointee.item_relative_path.map { String(cString: $0) } }

    /// Input `name`'s value, which must hold one of `types` (DF_TYPE_*).
    private func input(_ name: String, _ types: Int...) throws -> df_value {
        guard let index = node.inputs.firstIndex(where: { $0.name == name }) else {
            throw PluginFailure("node '\(node.kind)' has no input '\(name)'")
        }
        let value = raw.pointee.inputs[index]
        guard types.contains(Int(value.type)) else { throw PluginFailure("input '\(name)' is not set") }
        return value
    }

    /// Whether the workflow set an optional input.
    public func has(_ name: String) -> Bool {
        guard let index = node.inputs.firstIndex(where: { $0.name == name }) else { return false }
        return raw.pointee.inputs[index].type != Int32(DF_TYPE_NONE)
    }

    public func number(_ name: String) throws -> Double {
        let value = try input(name, DF_TYPE_NUMBER, DF_TYPE_INTEGER)
        return value.type == Int32(DF_TYPE_NUMBER) ? value.number : Double(value.integer)
    }

    public func integer(_ name: String) throws -> Int {
        Int(try input(name, DF_TYPE_INTEGER).integer)
    }

    public func bool(_ name: String) throws -> Bool {
        try input(name, DF_TYPE_BOOL).boolean != 0
    }

    /// A string or path input.
    public func string(_ name: String) throws -> String {
        String(cString: try input(name, DF_TYPE_STRING, DF_TYPE_PATH).string)
    }

    public func strings(_ name: String) throws -> [String] {
        let value = try input(name, DF_TYPE_STRINGS)
        return (0..<Int(value.string_count)).map { value.strings[$0].map { String(cString: $0) } ?? "" }
    }

    /// An image or mask input, read-only.
    public func image(_ name: String) throws -> ImageView {
        ImageView(try input(name, DF_TYPE_IMAGE, DF_TYPE_MASK).image)
    }

    private func outputIndex(_ name: String) throws -> Int32 {
        guard let index = node.outputs.firstIndex(where: { $0.name == name }) else {
            throw PluginFailure("node '\(node.kind)' has no output '\(name)'")
        }
        return Int32(index)
    }

    private func check(_ status: Int32, _ name: String) throws {
        if status != 0 { throw PluginFailure("the host refused output '\(name)'") }
    }

    /// Allocates the image (or mask, `channels` 1) for output `name`; fill it before returning.
    public func outputImage(
        _ name: String, width: Int, height: Int, channels: Int,
        eightBit: Bool = false
    ) throws -> MutableImageView {
        let image = raw.pointee.host.pointee.output_image(
            raw, try outputIndex(name), Int32(width), Int32(height), Int32(channels),
            Int32(eightBit ? DF_SAMPLES_UINT8 : DF_SAMPLES_FLOAT32))
        guard image.data != nil else { throw PluginFailure("the host refused output '\(name)'") }
        return MutableImageView(image)
    }

    public func setNumber(_ name: String, _ value: Double) throws {
        try check(raw.pointee.host.pointee.output_number(raw, try outputIndex(name), value), name)
    }

    public func setInteger(_ name: String, _ value: Int) throws {
        try check(raw.pointee.host.pointee.output_integer(raw, try outputIndex(name), Int64(value)), name)
    }

    public func setBool(_ name: String, _ value: Bool) throws {
        try check(raw.pointee.host.pointee.output_bool(raw, try outputIndex(name), value ? 1 : 0), name)
    }

    /// Sets a string or path output.
    public func setString(_ name: String, _ value: String) throws {
        try check(raw.pointee.host.pointee.output_string(raw, try outputIndex(name), value), name)
    }

    func fail(_ message: String) {
        raw.pointee.host.pointee.fail(raw, message)
    }
}

/// Where the samples of an image are: interleaved, `channels` per pixel, `rowStride` samples
/// from one row to the next, floats (0…1) or 8-bit.
public struct ImageLayout {
    public let width: Int
    public let height: Int
    public let channels: Int
    public let rowStride: Int
    public let isEightBit: Bool

    init(_ image: df_image) {
        width = Int(image.width)
        height = Int(image.height)
        channels = Int(image.channels)
        rowStride = Int(image.row_stride)
        isEightBit = image.sample_format == Int32(DF_SAMPLES_UINT8)
    }

    /// Samples in the buffer.
    var count: Int { height * rowStride }

    @inline(__always) func index(_ x: Int, _ y: Int, _ channel: Int) -> Int { y * rowStride + x * channels + channel }

    @inline(__always) func read(_ data: UnsafeRawPointer, _ i: Int) -> Float {
        isEightBit
            ? Float(data.load(fromByteOffset: i, as: UInt8.self)) / 255
            : data.load(fromByteOffset: i * 4, as: Float.self)
    }
}

/// Read-only pixels of an input.
@dynamicMemberLookup
public struct ImageView {
    public let layout: ImageLayout
    let data: UnsafeRawPointer

    init(_ image: df_image) {
        layout = ImageLayout(image)
        data = UnsafeRawPointer(image.data!)
    }

    public subscript<T>(dynamicMember keyPath: KeyPath<ImageLayout, T>) -> T { layout[keyPath: keyPath] }

    /// The sample at (`x`, `y`, `channel`) on the 0…1 scale, whatever the storage.
    @inline(__always) public subscript(x: Int, y: Int, channel: Int) -> Float {
        layout.read(data, layout.index(x, y, channel))
    }

    /// Float samples (nil for 8-bit images).
    public var floats: UnsafeBufferPointer<Float>? {
        layout.isEightBit
            ? nil : UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: layout.count)
    }

    /// 8-bit samples (nil for float images).
    public var bytes: UnsafeBufferPointer<UInt8>? {
        layout.isEightBit
            ? UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: layout.count) : nil
    }
}

/// Pixels of an output, owned by the host, for the node to fill.
@dynamicMemberLookup
public struct MutableImageView {
    public let layout: ImageLayout
    let data: UnsafeMutableRawPointer

    init(_ image: df_image) {
        layout = ImageLayout(image)
        data = image.data!
    }

    public subscript<T>(dynamicMember keyPath: KeyPath<ImageLayout, T>) -> T { layout[keyPath: keyPath] }

    /// The sample at (`x`, `y`, `channel`) on the 0…1 scale; 8-bit storage rounds and clamps.
    @inline(__always) public subscript(x: Int, y: Int, channel: Int) -> Float {
        get { layout.read(data, layout.index(x, y, channel)) }
        nonmutating set {
            let i = layout.index(x, y, channel)
            if layout.isEightBit {
                data.storeBytes(of: UInt8(min(max(newValue * 255 + 0.5, 0), 255)), toByteOffset: i, as: UInt8.self)
            } else {
                data.storeBytes(of: newValue, toByteOffset: i * 4, as: Float.self)
            }
        }
    }

    public var floats: UnsafeMutableBufferPointer<Float>? {
        layout.isEightBit
            ? nil : UnsafeMutableBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: layout.count)
    }

    public var bytes: UnsafeMutableBufferPointer<UInt8>? {
        layout.isEightBit
            ? UnsafeMutableBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: layout.count) : nil
    }
}
