import ArgumentParser
import Foundation
import NodeKit
import Workflow

/// `apply`: the main job without YAML — Workflows/exemplar-transfer.yaml, built in, run by the
/// engine with everything `run` has (cache, manifest and `--resume`, interrupts, the run log).
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply an exemplar's edit (a photo before and after it) to other photos.",
        discussion: """
            The same as running Workflows/exemplar-transfer.yaml with --set before=… after=… \
            input=… output=…, which shows the graph to copy and change. --before and --after may \
            be two directories of several pairs of one edit, matched by file name. Each INPUT is \
            a directory, a photo or a quoted glob ('shoot/*.jpg'); each result is OUTPUT/<name>.png.
            """)

    @Option(help: "The exemplar before the edit (or a directory of several).")
    var before: String

    @Option(help: "The same photo after the edit (or a directory of them, named as the befores).")
    var after: String

    @Argument(help: "Directories, photos or quoted globs of the photos to edit.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Directory for the edited photos (created if missing).")
    var output: String

    @Option(help: "How much of the edit: 0 the photo untouched, 1 the exemplar's edit, 2 twice.")
    var strength: Double = 1

    @Option(help: "Denoiser steps of the edit models.")
    var steps: Int = 2

    @Option(help: "The edit's grain, if it added any: sample (drawn anew), mean (none visible), or none.")
    var grain: String = "sample"

    @Flag(help: "Write no report (by default OUTPUT/report.html shows every photo beside its result).")
    var noReport = false

    @OptionGroup var models: ModelDirectoryOption
    @OptionGroup var execution: ExecutionOptions

    /// Workflows/exemplar-transfer.yaml's graph, with no defaults for the exemplar (a test
    /// keeps the two alike).
    static let source = """
        version: 1
        name: apply
        params:
          before:   {type: path}
          after:    {type: path}
          input:    {type: dir}
          output:   {type: dir}
          strength: {type: number, default: 1, min: 0, max: 2}
          steps:    {type: integer, default: 2, min: 1, max: 16}
          grain:    {type: string, default: sample, choices: [sample, mean, none]}
        nodes:
          exemplar:  {node: load_pairs, before: $before, after: $after}
          delta:     {node: encode_delta, before: $exemplar.before, after: $exemplar.after}
          photo:     {node: load, each: $input, pattern: "*.{jpg,jpeg,png,tif,tiff,webp}"}
          region:    {node: predict_mask, image: $photo.image, delta: $delta.delta}
          edited:    {node: adapter_edit, image: $photo.image, delta: $delta.delta, strength: $strength, steps: $steps, grain: $grain}
          result:    {node: composite, base: $photo.image, overlay: $edited.image, mask: $region.mask}
          out:       {node: save, image: $result.image, dir: $output, name: "{stem}.png"}

        """

    func run() throws {
        let workflow = try builtInWorkflow(
            Self.source, command: "apply", models: models, json: execution.logFormat == .json)
        var failed: ExitCode?
        // One page for every input, rewritten as each finishes.
        let report =
            noReport
            ? nil
            : RunReport(
                path: execution.report ?? URL(fileURLWithPath: output).appendingPathComponent("report.html").path)
        for input in inputs {
            let params = try bindParams(
                workflow,
                [
                    "before=\(before)", "after=\(after)", "input=\(input)", "output=\(output)",
                    "strength=\(strength)", "steps=\(steps)", "grain=\(grain)",
                ], json: execution.logFormat == .json)
            do {
                try execution.run(workflow, params: params, report: report)
            } catch let code as ExitCode where code == someItemsFailed {
                failed = code  // the other inputs still run
            }
        }
        if let failed { throw failed }
    }
}
