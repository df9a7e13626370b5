// A deltaflow of your own with an extra node kind written in Swift, compiled in: no plugin
// library, no C. Everything else — run, validate, nodes, plugins — is deltaflow's own.
//
// In your package:  .package(url: "<deltaflow's repository>", from: "0.1.0")
//                   .executableTarget(name: "my-deltaflow", dependencies: [
//                       .product(name: "DeltaflowCLI", package: "deltaflow"),
//                       .product(name: "NodeKit", package: "deltaflow"),
//                       .product(name: "ImageCodecs", package: "deltaflow")])
// Then:             swift run my-deltaflow nodes studio.frame
import DeltaflowCLI
import ImageCodecs
import NodeKit

/// Draws a border of `width` pixels in a grey `level` around the image, keeping its size.
struct FrameNode: Node {
    let descriptor = NodeDescriptor(
        kind: "studio.frame",
        summary: "Draw a plain border around the image (example in-process Swift node)",
        inputs: [
            PortSpec("image", .image, doc: "the photo"),
            PortSpec("width", .integer, doc: "border width in pixels", default: .integer(16), range: 0...10_000),
            PortSpec("level", .number, doc: "border grey level, 0 black … 1 white", default: .number(1), range: 0...1),
        ],
        outputs: [PortSpec("image", .image, doc: "the framed photo")],
        example: "framed: {node: studio.frame, image: $photo.image, width: 24, level: 0.95}")

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let width = try inputs.integer("width")
        let level = Float(try inputs.number("level"))
        let colour = image.colorModel.colorChannels
        let framed = image.transformingFloatSamples { samples in
            for y in 0..<image.height {
                for x in 0..<image.width
                where x < width || y < width || x >= image.width - width || y >= image.height - width {
                    let base = (y * image.width + x) * image.channels
                    for c in 0..<colour { samples[base + c] = level }
                }
            }
        }
        return ["image": .image(framed)]
    }
}

DeltaflowCLI.main(nodes: [FrameNode()])
