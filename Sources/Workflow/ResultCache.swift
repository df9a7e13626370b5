import Foundation
import Glibc
import ImageCodecs
import NodeKit

/// Content-addressed results of cacheable nodes, on disk and shared between runs (and between
/// processes: entries are written atomically, so a reader never sees half a file).
///
/// Key = node kind + version + the node's salt (its weights' hash) + every input, with images
/// hashed by content. Each entry ends in a checksum of its bytes; an entry that fails it is
/// reported as corrupt, deleted and recomputed.
public struct ResultCache: Sendable {
    public let directory: String
    /// Entries beyond this many bytes are evicted, least recently used first, after a run.
    public let maxBytes: Int

    public static let defaultMaxBytes = 2 << 30

    public init(directory: String, maxBytes: Int = ResultCache.defaultMaxBytes) {
        self.directory = directory + "/results"
        self.maxBytes = maxBytes
    }

    public enum Lookup: Sendable {
        case hit([String: Value])
        case miss
        /// The entry existed but failed its checksum or could not be decoded; it was removed.
        case corrupt(String)
    }

    /// The key of running `node` on `inputs`.
    public static func key(for node: any Node, inputs: [String: Value]) -> String {
        var hasher = ContentHasher()
        hasher.add("\(node.descriptor.kind)\u{0}\(node.descriptor.version)\u{0}\(node.cacheSalt)\u{0}")
        for name in inputs.keys.sorted() {
            hasher.add(name + "\u{0}")
            hasher.add(inputs[name]!)
        }
        return hasher.hexDigest
    }

    private func path(_ key: String) -> String { "\(directory)/\(key.prefix(2))/\(key).dfc" }

    /// Looks an entry up. A hit is marked recently used (eviction removes the least recently
    /// used first) and a corrupt entry is removed — unless `readOnly`, as for `--dry-run`, which
    /// promises to write nothing.
    public func load(_ key: String, readOnly: Bool = false) -> Lookup {
        let file = path(key)
        guard let data = FileManager.default.contents(atPath: file) else { return .miss }
        do {
            let values = try CacheEntry.decode([UInt8](data))
            if !readOnly { try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: file) }
            return .hit(values)
        } catch {
            if !readOnly { try? FileManager.default.removeItem(atPath: file) }
            return .corrupt("\(error)")
        }
    }

    public func store(_ key: String, _ values: [String: Value]) throws {
        let file = path(key)
        try AtomicFile.createDirectories((file as NSString).deletingLastPathComponent)
        try AtomicFile.write(CacheEntry.encode(values), to: file)
    }

    /// Runs `body` holding an exclusive lock for `key`, shared by every thread and process
    /// using this cache directory (`flock`, which Linux also honours on NFS). Computing a result
    /// under the lock, after looking it up again, makes N workers starting together compute it
    /// once: the others wait, then find it. Locks are striped over 4096 files, so the cache never
    /// holds more; unrelated keys rarely share one. Without a writable lock file, `body` runs unlocked.
    public func withLock<T>(_ key: String, _ body: () throws -> T) rethrows -> T {
        let folder = directory + "/locks"
        try? AtomicFile.createDirectories(folder)
        let descriptor = open("\(folder)/\(key.prefix(3)).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return try body() }
        defer { close(descriptor) }  // closing releases the lock
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { return try body() }
        }
        return try body()
    }

    /// Entry count and total size.
    public func usage() -> (entries: Int, bytes: Int) {
        entries().reduce((0, 0)) { ($0.0 + 1, $0.1 + $1.bytes) }
    }

    /// Removes every cached result.
    public func clear() throws {
        if FileManager.default.fileExists(atPath: directory) { try FileManager.default.removeItem(atPath: directory) }
    }

    /// Removes least recently used entries until the cache fits `maxBytes`; returns how many.
    @discardableResult
    public func evict() -> Int {
        var all = entries(removingTemporariesOlderThan: Date(timeIntervalSinceNow: -3600)).sorted { $0.used < $1.used }
        var total = all.reduce(0) { $0 + $1.bytes }
        var removed = 0
        while total > maxBytes, !all.isEmpty {
            let oldest = all.removeFirst()
            if (try? FileManager.default.removeItem(atPath: oldest.path)) != nil {
                total -= oldest.bytes
                removed += 1
            }
        }
        return removed
    }

    /// Every entry; with a date, also removes temporary files last written before it (left by a
    /// process killed while storing — any live writer keeps its file's time current).
    private func entries(removingTemporariesOlderThan cutoff: Date? = nil) -> [(path: String, bytes: Int, used: Date)] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var found: [(String, Int, Date)] = []
        while let relative = enumerator.nextObject() as? String {
            let full = directory + "/" + relative
            let attributes = try? FileManager.default.attributesOfItem(atPath: full)
            let modified = attributes?[.modificationDate] as? Date ?? .distantPast
            if relative.hasSuffix(".dfc") {
                found.append((full, attributes?[.size] as? Int ?? 0, modified))
            } else if let cutoff, modified < cutoff,
                AtomicFile.temporaryOriginal(String(relative.split(separator: "/").last ?? ""))?.hasSuffix(".dfc")
                    == true
            {
                try? FileManager.default.removeItem(atPath: full)
            }
        }
        return found
    }
}

extension ContentHasher {
    mutating func add(_ value: Value) {
        switch value {
        case .image(let image), .mask(let image):
            add("\(value.type):\(image.width)x\(image.height)x\(image.channels):\(image.sampleFormat)\u{0}")
            switch image.storage {
            case .uint8(let s): s.withUnsafeBytes { add($0) }
            case .uint16(let s): s.withUnsafeBytes { add($0) }
            case .float32(let s): s.withUnsafeBytes { add($0) }
            }
        case .number(let n): add("number:\(n.bitPattern)\u{0}")
        case .delta(let delta):
            add("delta:\(delta.encoder)\u{0}")
            for key in delta.arrays.keys.sorted() {
                let array = delta.arrays[key]!
                add("\(key):\(array.shape)\u{0}")
                array.values.withUnsafeBytes { add($0) }
            }
        case .strings(let list):
            add("strings:\(list.count)\u{0}")
            for element in list { add("\(element.utf8.count):\(element)\u{0}") }
        case .images(let list):
            add("images:\(list.count)\u{0}")
            for image in list { add(.image(image)) }
        default: add("\(value.type):\(value.text)\u{0}")
        }
    }
}

/// The on-disk form of a node's outputs: "DFC1", entry count, entries, then a 16-byte checksum.
enum CacheEntry {
    struct Corrupt: Error, CustomStringConvertible {
        let description: String
    }

    static func encode(_ values: [String: Value]) -> [UInt8] {
        var out: [UInt8] = Array("DFC1".utf8)
        appendInteger(&out, values.count)
        for name in values.keys.sorted() {
            appendString(&out, name)
            switch values[name]! {
            case .image(let image), .mask(let image):
                out.append(values[name]!.type == .image ? 0 : 1)
                appendImage(&out, image)
            case .number(let n):
                out.append(2)
                appendInteger(&out, Int(bitPattern: UInt(n.bitPattern)))
            case .integer(let i):
                out.append(3)
                appendInteger(&out, i)
            case .string(let s):
                out.append(4)
                appendString(&out, s)
            case .path(let p):
                out.append(5)
                appendString(&out, p)
            case .bool(let b):
                out.append(6)
                out.append(b ? 1 : 0)
            case .delta(let delta):
                out.append(7)
                appendString(&out, delta.encoder)
                appendInteger(&out, delta.arrays.count)
                for key in delta.arrays.keys.sorted() {
                    let array = delta.arrays[key]!
                    appendString(&out, key)
                    appendInteger(&out, array.shape.count)
                    for n in array.shape { appendInteger(&out, n) }
                    appendBytes(&out, array.values)
                }
            case .strings(let list):
                out.append(8)
                appendInteger(&out, list.count)
                for element in list { appendString(&out, element) }
            case .images(let list):
                out.append(9)
                appendInteger(&out, list.count)
                for image in list { appendImage(&out, image) }
            }
        }
        var hasher = ContentHasher()
        out.withUnsafeBytes { hasher.add($0) }
        out += Array(hasher.hexDigest.utf8.prefix(16))
        return out
    }

    static func decode(_ bytes: [UInt8]) throws -> [String: Value] {
        guard bytes.count >= 4 + 8 + 16, bytes.starts(with: Array("DFC1".utf8)) else {
            throw Corrupt(description: "not a cache entry")
        }
        let body = bytes.dropLast(16)
        var hasher = ContentHasher()
        Array(body).withUnsafeBytes { hasher.add($0) }
        guard Array(hasher.hexDigest.utf8.prefix(16)) == Array(bytes.suffix(16)) else {
            throw Corrupt(description: "checksum mismatch")
        }
        var reader = Reader(bytes: Array(body), offset: 4)
        var values: [String: Value] = [:]
        for _ in 0..<(try reader.integer(limit: 1 << 16)) {
            let name = try reader.string()
            switch try reader.byte() {
            case let tag where tag <= 1:
                let image = try reader.image()
                values[name] = tag == 0 ? .image(image) : .mask(image)
            case 2: values[name] = .number(Double(bitPattern: UInt64(UInt(bitPattern: try reader.integer(limit: nil)))))
            case 3: values[name] = .integer(try reader.integer(limit: nil))
            case 4: values[name] = .string(try reader.string())
            case 5: values[name] = .path(try reader.string())
            case 6: values[name] = .bool(try reader.byte() != 0)
            case 7:
                let encoder = try reader.string()
                var arrays: [String: Delta.Array] = [:]
                for _ in 0..<(try reader.integer(limit: 1 << 10)) {
                    let key = try reader.string()
                    var shape: [Int] = []
                    for _ in 0..<(try reader.integer(limit: 8)) { shape.append(try reader.integer(limit: 1 << 24)) }
                    let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
                    guard count <= 1 << 28 else { throw Corrupt(description: "implausible delta array size") }
                    arrays[key] = Delta.Array(shape: shape, values: try reader.array(count))
                }
                values[name] = .delta(Delta(encoder: encoder, arrays: arrays))
            case 8:
                var list: [String] = []
                for _ in 0..<(try reader.integer(limit: 1 << 16)) { list.append(try reader.string()) }
                values[name] = .strings(list)
            case 9:
                var list: [Image] = []
                for _ in 0..<(try reader.integer(limit: 1 << 16)) { list.append(try reader.image()) }
                values[name] = .images(list)
            default: throw Corrupt(description: "unknown value type")
            }
        }
        return values
    }

    private static func appendImage(_ out: inout [UInt8], _ image: Image) {
        for n in [image.width, image.height, image.channels] { appendInteger(&out, n) }
        switch image.storage {
        case .uint8(let s):
            out.append(0)
            appendBytes(&out, s)
        case .uint16(let s):
            out.append(1)
            appendBytes(&out, s)
        case .float32(let s):
            out.append(2)
            appendBytes(&out, s)
        }
    }

    private static func appendInteger(_ out: inout [UInt8], _ value: Int) {
        withUnsafeBytes(of: Int64(value).littleEndian) { out += $0 }
    }

    private static func appendString(_ out: inout [UInt8], _ text: String) {
        appendInteger(&out, text.utf8.count)
        out += Array(text.utf8)
    }

    private static func appendBytes<T>(_ out: inout [UInt8], _ samples: [T]) {
        samples.withUnsafeBytes { out += $0 }
    }

    /// Bounds-checked reads: a damaged entry is an error, never a crash.
    private struct Reader {
        let bytes: [UInt8]
        var offset: Int

        mutating func image() throws -> Image {
            let width = try integer(limit: 1 << 20)
            let height = try integer(limit: 1 << 20)
            guard let model = ColorModel(channels: try integer(limit: 4)) else {
                throw Corrupt(description: "bad channels")
            }
            let count = width * height * model.channels
            let storage: PixelStorage =
                switch try byte() {
                case 0: .uint8(try array(count))
                case 1: .uint16(try array(count))
                default: .float32(try array(count))
                }
            return Image(width: width, height: height, colorModel: model, storage: storage)
        }

        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, offset + count <= bytes.count else { throw Corrupt(description: "truncated") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func byte() throws -> UInt8 { try take(1).first! }

        mutating func integer(limit: Int?) throws -> Int {
            let raw = try take(8)
            let value = Int(Int64(littleEndian: raw.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
            if let limit, value < 0 || value > limit { throw Corrupt(description: "implausible size \(value)") }
            return value
        }

        mutating func string() throws -> String {
            String(decoding: try take(try integer(limit: 1 << 20)), as: UTF8.self)
        }

        mutating func array<T>(_ count: Int) throws -> [T] {
            let raw = try take(count * MemoryLayout<T>.stride)
            return raw.withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
        }
    }
}
