import Foundation
import Spelling

#if canImport(Glibc)
    import Glibc
#endif

/// A problem with a weights file, naming the file, the tensor, what is wrong and what to do.
public struct WeightsError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public let hint: String?

    public init(path: String, _ message: String, hint: String? = nil) {
        self.path = path
        self.message = message
        self.hint = hint
    }

    public var description: String {
        "\(path): \(message)" + (hint.map { "\n  hint: \($0)" } ?? "")
    }
}

/// A read-only **safetensors** file (the format PyTorch and Hugging Face write), memory-mapped.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping tensor names to
/// `{dtype, shape, data_offsets: [begin, end]}` (offsets into the data that follows), then the
/// data. Everything the header claims is checked against the file before any byte is read
/// through it: a malformed file is a ``WeightsError``, never a crash or an out-of-bounds read.
public final class SafeTensorsFile: @unchecked Sendable {
    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    public enum DType: String, Sendable {
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"
        var size: Int { self == .f32 ? 4 : 2 }
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// Largest header accepted (the reference implementation's limit).
    static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw WeightsError(
                path: path, "cannot open weights file: \(String(cString: strerror(errno)))",
                hint: "check the path, or run the set-up command that converts the model")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw WeightsError(path: path, "not a regular file")
        }
        let size = Int(info.st_size)
        guard size >= 8 else {
            throw WeightsError(
                path: path, "file is \(size) bytes; a safetensors file starts with an 8-byte header length")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw WeightsError(path: path, "cannot map file: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
        mappedLength = size
        do {
            (entries, metadata, dataStart) = try SafeTensorsFile.parseHeader(base, size: size, path: path)
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }

    private static func parseHeader(_ base: UnsafeRawPointer, size: Int, path: String) throws
        -> ([String: Entry], [String: String], Int)
    {
        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(min(maxHeaderBytes, size - 8)) else {
            throw WeightsError(
                path: path, "header claims \(headerLength) bytes but the file has \(size - 8) after the length field",
                hint: "the file is truncated or is not a safetensors file")
        }
        let n = Int(headerLength)
        let json = Data(bytes: base + 8, count: n)
        guard let object = try? JSONSerialization.jsonObject(with: json), let header = object as? [String: Any] else {
            throw WeightsError(path: path, "header is not a JSON object", hint: "the file is not a safetensors file")
        }
        let dataSize = size - 8 - n
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw WeightsError(path: path, "__metadata__ is not an object")
                }
                for (k, v) in m {
                    guard let s = v as? String else {
                        throw WeightsError(path: path, "metadata '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard let fields = value as? [String: Any] else {
                throw WeightsError(path: path, "tensor '\(name)': entry is not an object")
            }
            guard let dtypeName = fields["dtype"] as? String else {
                throw WeightsError(path: path, "tensor '\(name)': missing dtype")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw WeightsError(
                    path: path, "tensor '\(name)': dtype \(dtypeName) is not supported",
                    hint: "export the weights as F32, F16 or BF16")
            }
            guard let shapeValues = fields["shape"] as? [Any], let shape = integers(shapeValues),
                shape.allSatisfy({ $0 >= 0 })
            else {
                throw WeightsError(path: path, "tensor '\(name)': shape must be a list of non-negative integers")
            }
            guard let offsetValues = fields["data_offsets"] as? [Any], let offsets = integers(offsetValues),
                offsets.count == 2,
                offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize
            else {
                throw WeightsError(
                    path: path,
                    "tensor '\(name)': data_offsets must be [begin, end] within the \(dataSize)-byte data section",
                    hint: "the file is truncated or its header is corrupt")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw WeightsError(path: path, "tensor '\(name)': shape \(shape) overflows") }
                elements = product
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, bytes == offsets[1] - offsets[0] else {
                throw WeightsError(
                    path: path,
                    "tensor '\(name)': shape \(shape) of \(dtypeName) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets give \(offsets[1] - offsets[0])"
                )
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        // The format requires the tensors to tile the data section exactly: no overlaps, no holes.
        var position = 0
        for entry in entries.values.sorted(by: {
            ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound)
        }) {
            guard entry.range.lowerBound == position else {
                throw WeightsError(
                    path: path,
                    entry.range.lowerBound < position
                        ? "tensor data overlaps at byte \(entry.range.lowerBound)"
                        : "gap in tensor data at byte \(position)")
            }
            position = entry.range.upperBound
        }
        guard position == dataSize else {
            throw WeightsError(
                path: path, "\(dataSize - position) bytes after the last tensor", hint: "the file is corrupt")
        }
        return (entries, metadata, 8 + n)
    }

    private static func integers(_ values: [Any]) -> [Int]? {
        var out = [Int]()
        for v in values {
            guard let number = v as? NSNumber, number.doubleValue.magnitude < 9e15,
                let i = Int(exactly: number.doubleValue)
            else { return nil }
            out.append(i)
        }
        return out
    }

    /// Tensor names in the file, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads a tensor as Float32 (F16 and BF16 are widened exactly).
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else {
            let hint = closestMatch(to: name, in: names).map { "did you mean '\($0)'?" }
            throw WeightsError(path: path, "no tensor named '\(name)'", hint: hint)
        }
        let out = Tensor(uninitialized: entry.shape)
        let src = base + dataStart + entry.range.lowerBound
        let n = out.count
        switch entry.dtype {
        case .f32:
            UnsafeMutableRawPointer(out.storage.pointer).copyMemory(from: src, byteCount: n * 4)
            for i in 0..<n {
                out.storage.pointer[i] = Float(bitPattern: UInt32(littleEndian: out.storage.pointer[i].bitPattern))
            }
        case .f16:
            for i in 0..<n {
                out.storage.pointer[i] = floatFromHalf(
                    UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bf16:
            for i in 0..<n {
                out.storage.pointer[i] = Float(
                    bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                        << 16)
            }
        }
        return out
    }
}

/// IEEE binary16 → binary32, exactly (subnormals, infinities and NaN included).
func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1f)
    let mantissa = UInt32(h & 0x3ff)
    switch exponent {
    case 0:
        // Subnormal (or zero): mantissa · 2^-24.
        let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign == 0 ? magnitude : -magnitude
    case 31:
        return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    default:
        return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
    }
}
