import CDeltaflowPlugin
import Foundation
import ImageCodecs
import NodeKit

/// A node a plugin provides: the engine runs it like any other, and each run becomes one call
/// of the plugin's `process` function with host-owned buffers.
public struct PluginNode: Node {
    let spec: PluginDescription.NodeSpec
    public let cacheSalt: String
    let lock: NSLock

    init(spec: PluginDescription.NodeSpec, cacheSalt: String, lock: NSLock) {
        self.spec = spec
        self.cacheSalt = cacheSalt
        self.lock = lock
    }

    public var descriptor: NodeDescriptor { spec.descriptor }
    /// Whether calls may overlap; if not, the host runs them one at a time.
    public var isThreadSafe: Bool { spec.threadSafe }

    public func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let descriptor = spec.descriptor
        let state = CallState(descriptor: descriptor)
        var strings = CStrings()
        defer { strings.free() }
        // Images are passed without copying when they already hold the samples the port asks for;
        // their pointers are filled in once every image's storage is pinned.
        var images: [(slot: Int, image: Image)] = []
        var values: [df_value] = []
        for port in descriptor.inputs {
            var value = df_value()
            // Converted as a workflow edge converts (integer → number, string ↔ path), so the plugin
            // always sees the type it declared.
            switch inputs[port.name].map({ $0.coerced(to: port.type) ?? $0 }) {
            case nil:
                value.type = Int32(DF_TYPE_NONE)
            case .image(let image)?, .mask(let image)?:
                let wanted: SampleFormat = spec.uint8Inputs.contains(port.name) ? .uint8 : .float32
                let image = port.type == .mask && image.channels != 1 ? image.converted(to: .gray) : image
                images.append((values.count, image.sampleFormat == wanted ? image : image.converted(to: wanted)))
                value.type = Int32(port.type == .mask ? DF_TYPE_MASK : DF_TYPE_IMAGE)
            case .number(let n)?:
                value.type = Int32(DF_TYPE_NUMBER)
                value.number = n
            case .integer(let i)?:
                value.type = Int32(DF_TYPE_INTEGER)
                value.integer = Int64(i)
            case .bool(let b)?:
                value.type = Int32(DF_TYPE_BOOL)
                value.boolean = b ? 1 : 0
            case .string(let s)?:
                value.type = Int32(DF_TYPE_STRING)
                value.string = strings.add(s)
            case .path(let p)?:
                value.type = Int32(DF_TYPE_PATH)
                value.string = strings.add(p)
            case .strings(let list)?:
                value.type = Int32(DF_TYPE_STRINGS)
                value.strings = strings.addList(list)
                value.string_count = Int32(list.count)
            case .delta(let delta)?:
                value.type = Int32(DF_TYPE_DELTA)
                value.delta = strings.add(delta)
            case .images?:
                // No plugin port takes a list (the ABI has no such type), so validation never
                // connects one; said plainly should that change.
                throw NodeError("input '\(port.name)' is a list of images; plugins take one image per port")
            }
            values.append(value)
        }
        let itemPath = context.item.map { strings.add($0.path) }
        let itemRelative = context.item.map { strings.add($0.relativePath) }
        let status: Int32 = try withSamples(of: images.map(\.image)) { pointers in
            for ((slot, image), pointer) in zip(images, pointers) {
                values[slot].image = df_image(
                    width: Int32(image.width), height: Int32(image.height), channels: Int32(image.channels),
                    sample_format: Int32(image.sampleFormat == .uint8 ? DF_SAMPLES_UINT8 : DF_SAMPLES_FLOAT32),
                    row_stride: Int64(image.width * image.channels), data: UnsafeMutableRawPointer(mutating: pointer))
            }
            return values.withUnsafeBufferPointer { buffer in
                var call = df_call(
                    host: UnsafePointer(hostTable), host_state: Unmanaged.passUnretained(state).toOpaque(),
                    inputs: buffer.baseAddress, input_count: Int32(buffer.count), threads: Int32(context.threads),
                    seed: context.seed, item_path: itemPath, item_relative_path: itemRelative,
                    item_index: Int64(context.item?.index ?? -1), node_data: spec.data)
                if spec.threadSafe { return spec.process(&call) }
                lock.lock()
                defer { lock.unlock() }
                return spec.process(&call)
            }
        }
        return try state.finish(status: status, kind: descriptor.kind)
    }

    /// Calls `body` with a pointer to each image's samples, valid for the duration of the call.
    private func withSamples<R>(of images: [Image], _ body: ([UnsafeRawPointer]) throws -> R) throws -> R {
        var pointers: [UnsafeRawPointer] = []
        func step(_ i: Int) throws -> R {
            guard i < images.count else { return try body(pointers) }
            func next(_ raw: UnsafeRawBufferPointer) throws -> R {
                pointers.append(raw.baseAddress ?? UnsafeRawPointer(emptyBuffer))
                return try step(i + 1)
            }
            switch images[i].storage {
            case .uint8(let s): return try s.withUnsafeBytes(next)
            case .uint16(let s): return try s.withUnsafeBytes(next)
            case .float32(let s): return try s.withUnsafeBytes(next)
            }
        }
        return try step(0)
    }
}

/// What one call has produced so far; the host functions reach it through `df_call.host_state`.
final class CallState {
    let descriptor: NodeDescriptor
    var outputs: [Value?]
    /// Image outputs the plugin is filling: host memory, turned into images once it returns.
    var pending: [Int: (buffer: UnsafeMutableRawPointer, width: Int, height: Int, channels: Int, uint8: Bool)] = [:]
    var failure: String?
    /// The plugin broke the protocol (wrong output index or type); reported even if it returns 0.
    var misuse: String?

    init(descriptor: NodeDescriptor) {
        self.descriptor = descriptor
        self.outputs = Array(repeating: nil, count: descriptor.outputs.count)
    }

    deinit {
        for image in pending.values { image.buffer.deallocate() }
    }

    /// The output `index` names, if it exists and is declared with a type `setter` can fill;
    /// otherwise records the misuse.
    func output(_ index: Int32, setter: String, accepts: (PortType) -> Bool) -> Int? {
        guard misuse == nil else { return nil }
        guard (0..<outputs.count).contains(Int(index)) else {
            misuse =
                "\(setter) was given output index \(index), but the node declares \(outputs.count) output\(outputs.count == 1 ? "" : "s")"
            return nil
        }
        let port = descriptor.outputs[Int(index)]
        guard accepts(port.type) else {
            misuse = "\(setter) was used for output '\(port.name)', which is declared \(port.type)"
            return nil
        }
        return Int(index)
    }

    func finish(status: Int32, kind: String) throws -> [String: Value] {
        if let misuse { throw NodeError("plugin node '\(kind)' misused the host API: \(misuse)") }
        guard status == 0 else {
            throw NodeError(
                failure.map { "\(kind): \($0)" }
                    ?? "plugin node '\(kind)' failed (it returned \(status)) without saying why")
        }
        for (index, image) in pending {
            let count = image.width * image.height * image.channels
            let storage: PixelStorage =
                image.uint8
                ? .uint8(
                    Array(UnsafeBufferPointer(start: image.buffer.assumingMemoryBound(to: UInt8.self), count: count)))
                : .float32(
                    Array(UnsafeBufferPointer(start: image.buffer.assumingMemoryBound(to: Float.self), count: count)))
            let result = Image(
                width: image.width, height: image.height, colorModel: ColorModel(channels: image.channels)!,
                storage: storage)
            outputs[index] = descriptor.outputs[index].type == .mask ? .mask(result) : .image(result)
        }
        var result: [String: Value] = [:]
        for (index, port) in descriptor.outputs.enumerated() {
            guard let value = outputs[index] else {
                throw NodeError(
                    "plugin node '\(kind)' returned success without setting its output '\(port.name)' (\(port.type))")
            }
            result[port.name] = value
        }
        return result
    }
}

/// C strings (and arrays of them) that must outlive one call, freed together afterwards.
struct CStrings {
    private var blocks: [UnsafeMutableRawPointer] = []

    mutating func add(_ s: String) -> UnsafePointer<CChar> {
        let copy = strdup(s)!
        blocks.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    mutating func addList(_ list: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let array = allocate(UnsafePointer<CChar>?.self, list.count)
        for (i, s) in list.enumerated() { array[i] = add(s) }
        return UnsafePointer(array)
    }

    mutating func add(_ delta: Delta) -> df_delta {
        let names = delta.arrays.keys.sorted()
        let arrays = allocate(df_delta_array.self, names.count)
        for (i, name) in names.enumerated() {
            let array = delta.arrays[name]!
            let shape = allocate(Int64.self, array.shape.count)
            for (d, n) in array.shape.enumerated() { shape[d] = Int64(n) }
            let values = allocate(Float.self, array.values.count)
            values.initialize(from: array.values, count: array.values.count)
            arrays[i] = df_delta_array(name: add(name), rank: Int32(array.shape.count), shape: shape, values: values)
        }
        return df_delta(encoder: add(delta.encoder), array_count: Int32(names.count), arrays: arrays)
    }

    /// `count` uninitialised elements from malloc, so that one `free` releases every block.
    private mutating func allocate<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let raw = malloc(max(1, count) * MemoryLayout<T>.stride)!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(1, count))
    }

    func free() {
        for block in blocks { Foundation.free(block) }
    }
}

/// A valid address for empty buffers, which have none of their own.
nonisolated(unsafe) private let emptyBuffer = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
