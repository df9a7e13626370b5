import DeltaflowPluginSDK
import Foundation

/// An example plugin in Swift: a levels-style tone curve (black point, white point, gamma) and a
/// node that reports an image's mean brightness, so workflows can branch on it.
let plugin = Plugin(
    name: "examples-swift", version: "1.0.0", summary: "Example plugin in Swift: tone curve and mean brightness",
    nodes: [toneCurve, meanBrightness])

@_cdecl("deltaflow_plugin")
public func deltaflowPlugin(_ hostABI: UInt32) -> UnsafeRawPointer? {
    plugin.entry(hostABI: hostABI)
}

let toneCurve = NodeDefinition(
    kind: "examples.tone_curve",
    summary: "Levels: map black…white to 0…1, then apply a gamma (example Swift plugin)",
    example: "toned: {node: examples.tone_curve, image: $photo.image, black: 0.05, white: 0.9, gamma: 1.2}",
    inputs: [
        .image("image", "the image to adjust"),
        .number("black", "input level that becomes black", default: 0, range: 0...1),
        .number("white", "input level that becomes white", default: 1, range: 0...1),
        .number("gamma", "above 1 brightens the midtones, below 1 darkens them", default: 1, range: 0.1...10),
    ],
    outputs: [.image("image", "the adjusted image")]
) { call in
    let image = try call.image("image")
    let (black, white, gamma) = (try call.number("black"), try call.number("white"), try call.number("gamma"))
    guard white > black else {
        throw PluginFailure("white (\(white)) must be above black (\(black))")
    }
    let scale = Float(1 / (white - black))
    let offset = Float(black)
    let exponent = Float(1 / gamma)
    let out = try call.outputImage("image", width: image.width, height: image.height, channels: image.channels)
    // Alpha (the last channel of gray+alpha and RGBA) is coverage, not tone: it passes through.
    let colour = image.channels == 2 || image.channels == 4 ? image.channels - 1 : image.channels
    for y in 0..<image.height {
        for x in 0..<image.width {
            for c in 0..<image.channels {
                let v = image[x, y, c]
                out[x, y, c] = c < colour ? pow(min(max((v - offset) * scale, 0), 1), exponent) : v
            }
        }
    }
}

let meanBrightness = NodeDefinition(
    kind: "examples.mean_brightness",
    summary: "The mean luma of an image, 0…1 (example Swift plugin)",
    example: "level: {node: examples.mean_brightness, image: $photo.image}",
    inputs: [.image("image", "the image to measure", eightBit: true)],
    outputs: [.number("mean", "mean Rec. 601 luma, 0…1")]
) { call in
    let image = try call.image("image")
    guard image.width > 0, image.height > 0 else { throw PluginFailure("the image is empty") }
    var sum = 0.0
    for y in 0..<image.height {
        for x in 0..<image.width {
            sum +=
                image.channels >= 3
                ? 0.299 * Double(image[x, y, 0]) + 0.587 * Double(image[x, y, 1]) + 0.114 * Double(image[x, y, 2])
                : Double(image[x, y, 0])
        }
    }
    try call.setNumber("mean", sum / Double(image.width * image.height))
}
