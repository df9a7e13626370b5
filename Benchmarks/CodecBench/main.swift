// Times deltaflow's decode and encode of one file (a PNG written back as PNG at the default level,
// anything else as JPEG quality 90); Benchmarks/codecs.py runs it on JPEGs beside Pillow on the
// same file and prints the ratios. Usage: codec-bench FILE [ITERATIONS]
import Foundation
import ImageCodecs

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: codec-bench FILE [ITERATIONS]\n".utf8))
    exit(1)
}
let path = arguments[1]
let iterations = arguments.count > 2 ? Int(arguments[2]) ?? 7 : 7
let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let elapsed = try clock.measure(body)
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

var image = try ImageFile.decode(bytes)  // warm-up, and the image the encoder gets
let options: EncodeOptions = path.lowercased().hasSuffix(".png") ? .png(PNGOptions()) : .jpeg(JPEGOptions(quality: 90))
var decodeTimes: [Double] = []
var encodeTimes: [Double] = []
var encodedSize = 0
for _ in 0..<iterations {
    decodeTimes.append(try milliseconds { image = try ImageFile.decode(bytes) })
    encodeTimes.append(
        try milliseconds {
            encodedSize = try ImageFile.encode(image, options: options).count
        })
}
print(
    """
    {"width": \(image.width), "height": \(image.height), "decode_ms": \(decodeTimes), \
    "encode_ms": \(encodeTimes), "encoded_bytes": \(encodedSize)}
    """)
