import Foundation
import Testing

@testable import TensorCore

/// One folder for every file these tests write, removed when the process exits.
private let scratch: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("deltaflow-safetensors-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit {
        try? FileManager.default.removeItem(
            at: FileManager.default.temporaryDirectory
                .appendingPathComponent("deltaflow-safetensors-tests-\(getpid())"))
    }
    return url
}()

/// Builds a safetensors file from a header (as JSON text) and a data section.
private func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) throws -> String {
    let url = scratch.appendingPathComponent("st-\(UUID().uuidString).safetensors")
    var bytes = [UInt8]()
    let json = Array(header.utf8)
    withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { bytes += $0 }
    bytes += json + data
    try Data(bytes).write(to: url)
    return url.path
}

private func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

@Suite("safetensors reader")
struct SafeTensorsTests {
    @Test("Reads F32, F16 and BF16 tensors, and metadata")
    func reads() throws {
        let f16: [UInt16] = [0x3c00, 0xc000, 0x0001, 0x7bff]  // 1, -2, smallest subnormal, 65504
        let bf16: [UInt16] = [0x3f80, 0xc040]  // 1, -3
        var data = floatBytes([1.5, -2, 3, 4])
        data += f16.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        data += bf16.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let path = try file(
            header:
                #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"h":{"dtype":"F16","shape":[4],"data_offsets":[16,24]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},"__metadata__":{"format":"pt"}}"#,
            data: data)
        let st = try SafeTensorsFile(path: path)
        #expect(st.names == ["a", "b", "h"])
        #expect(st.metadata == ["format": "pt"])
        #expect(try st.tensor("a").values == [1.5, -2, 3, 4])
        #expect(try st.tensor("a").shape == [2, 2])
        #expect(try st.tensor("h").values == [1, -2, Float(sign: .plus, exponent: -24, significand: 1), 65504])
        #expect(try st.tensor("b").values == [1, -3])
    }

    @Test(
        "Malformed files are errors that name the problem",
        arguments: [
            (
                #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 4,
                "data_offsets must be [begin, end] within the 4-byte data section"
            ),
            (
                #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8,
                "shape [3] of F32 needs 12 bytes but data_offsets give 8"
            ),
            (#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, 8, "dtype I64 is not supported"),
            (
                #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, 8,
                "shape must be a list of non-negative integers"
            ),
            (
                #"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}"#, 8,
                "shape must be a list of non-negative integers"
            ),
            (
                #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, 8,
                "shape must be a list of non-negative integers"
            ),
            (
                #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                4, "tensor data overlaps at byte 0"
            ),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, 8, "gap in tensor data at byte 0"),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 8, "4 bytes after the last tensor"),
            (#"[1,2]"#, 0, "header is not a JSON object"),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]"#, 4, "header is not a JSON object"),
            (#"{"a":7}"#, 0, "tensor 'a': entry is not an object"),
        ])
    func malformed(header: String, dataBytes: Int, message: String) throws {
        let path = try file(header: header, data: [UInt8](repeating: 0, count: dataBytes))
        let error = #expect(throws: WeightsError.self) { try SafeTensorsFile(path: path) }
        #expect(error?.description.contains(message) == true, "\(error.map(String.init(describing:)) ?? "")")
        #expect(error?.path == path)
    }

    @Test("A header length beyond the file, an empty file and a missing file are errors")
    func truncated() throws {
        let long = try file(header: "{}", declaredLength: 1 << 40)
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: long) }
        let empty = try file(header: "", declaredLength: 0)
        let tiny = scratch.appendingPathComponent("tiny-\(UUID().uuidString)")
        try Data([1, 2, 3]).write(to: tiny)
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: tiny.path) }
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: empty) }  // "" is not JSON
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: "/nonexistent/model.safetensors") }
    }

    @Test("Every prefix of a valid file fails cleanly")
    func prefixes() throws {
        let path = try file(
            header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2]))
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        for n in 0..<whole.count {
            let cut = path + ".cut"
            try whole.prefix(n).write(to: URL(fileURLWithPath: cut))
            #expect(throws: WeightsError.self) { try SafeTensorsFile(path: cut) }
        }
    }

    @Test("The weight store maps names by rules, checks shapes and reports unused weights")
    func store() throws {
        let path = try file(
            header:
                #"{"model.layer.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"model.extra":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
            data: floatBytes([1, 2, 3]))
        let store = try WeightStore(
            path: path, rules: [.replacePrefix("model.", with: ""), .replace("layer", with: "fc")])
        #expect(try store.tensor("fc.weight", shape: [1, 2]).values == [1, 2])
        let shapeError = #expect(throws: WeightsError.self) { try store.tensor("fc.weight", shape: [2, 1]) }
        #expect(shapeError?.message == "weight 'fc.weight' has shape [1, 2], the model expects [2, 1]")
        let missing = #expect(throws: WeightsError.self) { try store.tensor("fc.weigth", shape: [1, 2]) }
        #expect(missing?.hint == "did you mean 'fc.weight'?")
        #expect(store.unused == ["extra"])
        #expect(throws: WeightsError.self) { try store.requireAllUsed() }
    }
}
