import ArgumentParser
import Foundation
import NodeKit
import Workflow

/// `export-lut`: the colour of an exemplar's edit as a LUT for other tools, through the same
/// engine and delta cache as `apply` (the exemplar is encoded once for every output).
struct ExportLUTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-lut",
        abstract: "Write the colour of an exemplar's edit as a .cube 3D LUT or a Hald CLUT .png.",
        discussion: """
            A .cube LUT applies in DaVinci Resolve, darktable, Premiere and ffmpeg \
            (-vf lut3d=file=look.cube); a Hald CLUT .png in ImageMagick (convert photo.jpg look.png \
            -hald-clut out.jpg), GIMP and RawTherapee. A LUT holds colour only: a blur, sharpening, \
            change across the frame, learned local operator or grain the exemplar also shows is named and left out (the \
            workflow node color_grade applies exactly what the LUT holds). Same as a workflow with \
            load_pairs, encode_delta and save_lut.
            """)

    @Option(help: "The exemplar before the edit (or a directory of several).")
    var before: String

    @Option(help: "The same photo after the edit (or a directory of them, named as the befores).")
    var after: String

    @Option(
        name: .shortAndLong,
        help: "The LUT file: .cube or .png (Hald CLUT); repeat for several (e.g. -o look.cube -o look.png).")
    var output: [String]

    @Option(help: "Colours per axis of a .cube.")
    var size: Int = 33

    @Option(help: "Hald level of a .png: level² colours per axis, a level³-pixel square.")
    var level: Int = 8

    @Option(help: "How much of the colour: 0 the identity, 1 the exemplar's, 2 twice.")
    var strength: Double = 1

    @OptionGroup var models: ModelDirectoryOption
    @OptionGroup var execution: ExecutionOptions

    static let source = """
        version: 1
        name: export-lut
        params:
          before:   {type: path}
          after:    {type: path}
          output:   {type: path}
          size:     {type: integer, default: 33, min: 2, max: 129}
          level:    {type: integer, default: 8, min: 2, max: 16}
          strength: {type: number, default: 1, min: 0, max: 2}
        nodes:
          exemplar: {node: load_pairs, before: $before, after: $after}
          delta:    {node: encode_delta, before: $exemplar.before, after: $exemplar.after}
          lut:      {node: save_lut, delta: $delta.delta, path: $output, size: $size, level: $level, strength: $strength}

        """

    func validate() throws {
        guard !output.isEmpty else { throw ValidationError("give the LUT file with --output look.cube (or .png)") }
        for path in output where !["cube", "png"].contains(URL(fileURLWithPath: path).pathExtension.lowercased()) {
            throw ValidationError("'\(path)': end the name in .cube (a cube LUT) or .png (a Hald CLUT)")
        }
    }

    func run() throws {
        let workflow = try builtInWorkflow(
            Self.source, command: "export-lut", models: models, json: execution.logFormat == .json)
        for path in output {
            let params = try bindParams(
                workflow,
                [
                    "before=\(before)", "after=\(after)", "output=\(path)", "size=\(size)", "level=\(level)",
                    "strength=\(strength)",
                ], json: execution.logFormat == .json)
            try execution.run(workflow, params: params)
            // The .cube says what it could not hold; say it where the user looks.
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                for line in text.split(separator: "\n").prefix(3) where line.hasPrefix("# Not in this LUT") {
                    printError("note: \(line.dropFirst(2))")
                }
            }
        }
    }
}
