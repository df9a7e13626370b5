import CDeltaflowPlugin
import Foundation
import NodeKit

/// The functions a running plugin node calls back into. One table for the whole process;
/// which call they belong to comes from `df_call.host_state`.
nonisolated(unsafe) let hostTable: UnsafeMutablePointer<df_host> = {
    let table = UnsafeMutablePointer<df_host>.allocate(capacity: 1)
    table.initialize(
        to: df_host(
            abi_version: DF_ABI_VERSION, struct_size: UInt32(MemoryLayout<df_host>.size),
            output_image: { call, index, width, height, channels, format in
                var image = df_image()
                guard let state = callState(call),
                    let i = state.output(index, setter: "output_image", accepts: { $0 == .image || $0 == .mask })
                else { return image }
                let isMask = state.descriptor.outputs[i].type == .mask
                guard width > 0, height > 0, (1...4).contains(channels), !isMask || channels == 1,
                    format == Int32(DF_SAMPLES_FLOAT32) || format == Int32(DF_SAMPLES_UINT8),
                    Int(width) * Int(height) <= 1 << 28
                else {
                    state.misuse =
                        "output_image was asked for a \(width)×\(height) \(isMask ? "mask" : "image") with \(channels) channels and sample format \(format)"
                        + (isMask
                            ? " (masks have 1 channel)"
                            : " (1–4 channels, at most 2²⁸ pixels, DF_SAMPLES_FLOAT32 or DF_SAMPLES_UINT8)")
                    return image
                }
                let uint8 = format == Int32(DF_SAMPLES_UINT8)
                let count = Int(width) * Int(height) * Int(channels)
                let bytes = count * (uint8 ? 1 : 4)
                if let old = state.pending[i] { old.buffer.deallocate() }
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                buffer.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
                state.pending[i] = (buffer, Int(width), Int(height), Int(channels), uint8)
                image = df_image(
                    width: width, height: height, channels: channels, sample_format: format,
                    row_stride: Int64(width) * Int64(channels), data: buffer)
                return image
            },
            output_number: { call, index, value in set(call, index, .number(value), "output_number") },
            output_integer: { call, index, value in set(call, index, .integer(Int(value)), "output_integer") },
            output_bool: { call, index, value in set(call, index, .bool(value != 0), "output_bool") },
            output_string: { call, index, text in
                guard let text else { return misuse(call, "output_string was given NULL") }
                return set(call, index, .string(String(cString: text)), "output_string")
            },
            output_delta: { call, index, delta in
                guard let delta, let value = copyDelta(delta.pointee) else {
                    return misuse(call, "output_delta was given a NULL or malformed delta")
                }
                return set(call, index, .delta(value), "output_delta")
            },
            output_strings: { call, index, list, count in
                guard count >= 0, count == 0 || list != nil else {
                    return misuse(call, "output_strings was given a NULL list")
                }
                var strings: [String] = []
                for i in 0..<Int(count) {
                    guard let s = list![i] else { return misuse(call, "output_strings was given a NULL string") }
                    strings.append(String(cString: s))
                }
                return set(call, index, .strings(strings), "output_strings")
            },
            fail: { call, message in
                callState(call)?.failure = message.map { String(cString: $0) } ?? "(no message)"
            }))
    return table
}()

private func callState(_ call: UnsafePointer<df_call>?) -> CallState? {
    guard let state = call?.pointee.host_state else { return nil }
    return Unmanaged<CallState>.fromOpaque(state).takeUnretainedValue()
}

private func misuse(_ call: UnsafePointer<df_call>?, _ message: String) -> Int32 {
    if let state = callState(call), state.misuse == nil { state.misuse = message }
    return 1
}

/// Stores a value output, converted as a workflow edge would convert it (an integer may fill a
/// number output, a string a path output).
private func set(_ call: UnsafePointer<df_call>?, _ index: Int32, _ value: Value, _ setter: String) -> Int32 {
    guard let state = callState(call),
        let i = state.output(index, setter: setter, accepts: { $0.accepts(value.type) })
    else { return 1 }
    state.outputs[i] = value.coerced(to: state.descriptor.outputs[i].type)
    return 0
}

private func copyDelta(_ delta: df_delta) -> Delta? {
    guard let encoder = delta.encoder, delta.array_count >= 0, delta.array_count <= 4096,
        delta.array_count == 0 || delta.arrays != nil
    else { return nil }
    var arrays: [String: Delta.Array] = [:]
    for i in 0..<Int(delta.array_count) {
        let a = delta.arrays![i]
        guard let name = a.name, (0...8).contains(a.rank), a.rank == 0 || a.shape != nil else { return nil }
        var shape: [Int] = []
        for d in 0..<Int(a.rank) {
            guard a.shape![d] >= 0, a.shape![d] <= 1 << 28 else { return nil }
            shape.append(Int(a.shape![d]))
        }
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { return nil }
            count = product
        }
        guard count <= 1 << 28, count == 0 || a.values != nil else { return nil }
        arrays[String(cString: name)] = Delta.Array(
            shape: shape, values: Array(UnsafeBufferPointer(start: a.values, count: count)))
    }
    return Delta(encoder: String(cString: encoder), arrays: arrays)
}
