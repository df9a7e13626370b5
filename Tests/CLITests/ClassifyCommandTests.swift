import Foundation
import Testing

@Suite("deltaflow classify")
struct ClassifyCommandTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples")

    @Test("The installed encoder recognises the bundled photos: espresso, Egyptian cat, tripod")
    func recognises() throws {
        let result = try deltaflow(
            ["classify", "--top", "1"]
                + ["coffee.png", "chelsea.png", "camera.png"]
                .map { Self.examples.appendingPathComponent($0).path })
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasSuffix("coffee.png: espresso \(lines[0].split(separator: " ").last!)"))
        #expect(lines[1].contains("chelsea.png: Egyptian cat "))
        #expect(lines[2].contains("camera.png: tripod "))
    }

    @Test("No weights: exit 1 with the path looked at and how to install them")
    func missingWeights() throws {
        let result = try deltaflow([
            "classify", "--models", "/nonexistent/models", Self.examples.appendingPathComponent("coffee.png").path,
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/nonexistent/models/efficientnet-lite0.safetensors: model weights not found"))
        #expect(result.stderr.contains("bash .ci/install"))
    }
}
