import Foundation
import Testing

@Suite("export-lut: the exemplar's colour in other tools")
struct LUTExportTests {
    @Test("The .cube applied by ffmpeg matches color_grade within 1/255; the Hald CLUT in ImageMagick within 2/255")
    func cubeAndHald() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let before = repository.appendingPathComponent("Examples/astronaut.png").path
        let after = repository.appendingPathComponent("Exemplars/astronaut-graded.png").path
        let photo = repository.appendingPathComponent("Examples/coffee.png")
        let cube = root.appendingPathComponent("look.cube")
        let hald = root.appendingPathComponent("look.png")
        let exported = try deltaflow([
            "export-lut", "--before", before, "--after", after, "-o", cube.path, "-o", hald.path,
        ])
        #expect(exported.status == 0, "\(exported.stderr)")
        // No file is iterated: no "0 files to process", no "done 0, failed 0".
        #expect(!exported.stdout.contains("files to process") && !exported.stdout.contains("done 0"))
        #expect(exported.stdout.contains("\ndone in "), "\(exported.stdout)")
        let text = try String(contentsOf: cube, encoding: .utf8)
        #expect(text.contains("LUT_3D_SIZE 33"))
        #expect(
            text.split(separator: "\n").filter { $0.first?.isNumber == true || $0.first == "-" }.count == 33 * 33 * 33)

        // deltaflow's own colour step, at 16 bits.
        let workflow = root.appendingPathComponent("grade.yaml")
        try """
        version: 1
        params:
          input: {type: path}
          output: {type: path}
        nodes:
          exemplar: {node: load_pairs, before: "\(before)", after: "\(after)"}
          delta: {node: encode_delta, before: $exemplar.before, after: $exemplar.after}
          photo: {node: load, each: $input}
          graded: {node: color_grade, image: $photo.image, delta: $delta.delta}
          out: {node: save, image: $graded.image, dir: $output, name: "{stem}.png", bit_depth: 16}
        """.write(to: workflow, atomically: true, encoding: .utf8)
        let ours = root.appendingPathComponent("ours/coffee.png")
        let graded = try deltaflow([
            "run", workflow.path, "--set", "input=\(photo.path)", "--set",
            "output=\(ours.deletingLastPathComponent().path)",
        ])
        #expect(graded.status == 0, "\(graded.stderr)")

        // ffmpeg's lut3d (default, tetrahedral) on the photo at 16 bits, so ffmpeg's own 8→16-bit
        // conversion (not exact) stays out of the comparison. Measured 0.07/255.
        let photo16 = root.appendingPathComponent("coffee16.png")
        try run("convert", [photo.path, "PNG48:\(photo16.path)"])
        let viaFFmpeg = root.appendingPathComponent("ffmpeg.png")
        try run(
            "ffmpeg",
            [
                "-loglevel", "error", "-i", photo16.path, "-vf", "lut3d=file=\(cube.path)", "-pix_fmt", "rgb48be",
                viaFFmpeg.path,
            ])
        let cubeError = try peakDifference(ours, viaFFmpeg)
        #expect(cubeError < 1.0 / 255, "ffmpeg's lut3d is \(cubeError * 255)/255 from color_grade")

        // ImageMagick's -hald-clut: a 64-colour grid that does not fall on the fit's 17, values
        // clamped to 0…1 by PNG. Measured 1.07/255.
        let viaHald = root.appendingPathComponent("hald.png")
        try run("convert", [photo16.path, hald.path, "-hald-clut", "PNG48:\(viaHald.path)"])
        let haldError = try peakDifference(ours, viaHald)
        #expect(haldError < 2.0 / 255, "ImageMagick's -hald-clut is \(haldError * 255)/255 from color_grade")

        // And the grade is a real change, or the comparisons above would prove nothing.
        #expect(try peakDifference(ours, photo16) > 20.0 / 255)
    }

    @Test("A LUT file of another kind is refused before any work, naming both kinds")
    func unknownFormat() throws {
        let result = try deltaflow(["export-lut", "--before", "a.png", "--after", "b.png", "-o", "look.3dl"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("look.3dl") && result.stderr.contains(".cube") && result.stderr.contains(".png"))
    }
}
