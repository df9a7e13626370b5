import Foundation
import ImageCodecs
import NodeKit

/// Runs an external program per item: the image goes to it as a file, and the file it writes
/// comes back as the node's image. The program and its arguments are a list, passed to the
/// program as they are: no shell sees them unless `shell: true` asks for one, so a file name
/// with spaces, quotes or `;` is always one argument and never a command.
public struct ExecNode: Node {
    public init() {}

    public let descriptor = NodeDescriptor(
        kind: "exec",
        summary:
            "Run an external program on each image: {input} is the image as a file, {output} the file it writes back.",
        inputs: [
            PortSpec(
                "command", .strings,
                doc: "the program and its arguments, as a list; {input} and {output} become file paths"),
            PortSpec("image", .image, doc: "written to {input} before the program runs", optional: true),
            PortSpec(
                "input_format", .string, doc: "the format of {input}", default: .string("png"), choices: ["png", "jpg"]),
            PortSpec(
                "output_format", .string, doc: "the format the program writes to {output} (sets its extension)",
                default: .string("png"), choices: ["png", "jpg"]),
            PortSpec(
                "timeout", .number, doc: "seconds before the program is stopped and the item fails",
                default: .number(600), range: 0.1...86_400),
            PortSpec(
                "shell", .bool,
                doc: "run the one-element command as a /bin/sh script, with {input} and {output} as \"$1\" and \"$2\"",
                default: .bool(false)),
        ],
        outputs: [
            PortSpec(
                "image", .image, doc: "the image the program wrote to {output}; without {output}, the input image"),
            PortSpec("stdout", .string, doc: "what the program printed (at most 1 MB, without the final newline)"),
        ],
        // The program may do anything (upload, notify): it runs even when nothing reads its outputs.
        hasSideEffects: true,
        example:
            "sharp: {node: exec, image: $photo.image, command: [magick, \"{input}\", -unsharp, 0x1, \"{output}\"]}",
        placeholders: ["input", "output"],
        programInput: "command")

    public func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let command = try inputs.strings("command")
        guard let program = command.first, !program.isEmpty else {
            throw NodeError(
                "exec: 'command' is empty; give the program and its arguments, e.g. [magick, \"{input}\", \"{output}\"]"
            )
        }
        let shell = try inputs.bool("shell")
        if shell && command.count != 1 {
            throw NodeError("exec: with 'shell: true' the command is one script, not \(command.count) arguments")
        }
        let image = inputs.optionalImage("image")
        // A script may name the paths as the docs say they arrive, "$1" and "$2", as well.
        let usesInput = command.contains { $0.contains("{input}") } || shell && Self.uses(command[0], position: 1)
        let usesOutput = command.contains { $0.contains("{output}") } || shell && Self.uses(command[0], position: 2)
        if usesInput && image == nil {
            throw NodeError("exec: the command uses {input} but the node has no 'image' to write there")
        }
        if !usesOutput && image == nil {
            throw NodeError(
                "exec: nothing to output: put {output} in the command (a file the program writes), or give it an 'image' to pass on"
            )
        }

        let workspace = FileManager.default.temporaryDirectory
            .appendingPathComponent("deltaflow-exec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workspace) }
        let inputPath = workspace.appendingPathComponent("input." + (try inputs.string("input_format"))).path
        let outputPath = workspace.appendingPathComponent("output." + (try inputs.string("output_format"))).path
        if let image, usesInput {
            let options: EncodeOptions =
                inputPath.hasSuffix(".jpg")
                ? .jpeg(JPEGOptions(quality: 95))
                : .png(PNGOptions(bitDepth: image.bitDepth == 8 ? 8 : 16, compressionLevel: 1))
            try ImageFile.write(image, to: inputPath, options: options)
        }

        var arguments: [String]
        let executable: String
        if shell {
            // The paths reach the script as positional parameters, never as script text.
            // Quotes the user already put around a placeholder are absorbed, so '{input}' and
            // "{input}" both become "$1" rather than a quoted literal or an unquoted, split $1.
            var script = command[0]
            for (name, parameter) in [("input", "\"$1\""), ("output", "\"$2\"")] {
                for form in ["'{\(name)}'", "\"{\(name)}\"", "{\(name)}"] {
                    script = script.replacingOccurrences(of: form, with: parameter)
                }
            }
            executable = "/bin/sh"
            arguments = ["-c", script, "sh", inputPath, outputPath]
        } else {
            executable = try Self.locate(program)
            arguments = command.dropFirst().map {
                $0.replacingOccurrences(of: "{input}", with: inputPath).replacingOccurrences(
                    of: "{output}", with: outputPath)
            }
        }
        var environment = ProcessInfo.processInfo.environment
        environment["DELTAFLOW_SEED"] = String(context.seed)
        if let item = context.item {
            environment["DELTAFLOW_ITEM_PATH"] = item.path
            environment["DELTAFLOW_ITEM_RELPATH"] = item.relativePath
        }
        var launched = (executable, arguments)
        if let sandbox = context.sandbox {
            launched = sandbox.wrap(executable, arguments, writable: workspace.path)
        }
        let result = try ChildProcess.run(
            launched.0, launched.1, environment: environment, workspace: workspace,
            timeout: try inputs.number("timeout"))
        let name = shell ? "shell script" : "command '\(program)'"
        switch result.ending {
        case .exited(0):
            break
        case .exited(let status):
            throw NodeError("exec: \(name) exited with status \(status)\(Self.tail(result.stderr))")
        case .signalled(let signal):
            throw NodeError("exec: \(name) was killed by signal \(signal)\(Self.tail(result.stderr))")
        case .timedOut(let seconds):
            throw NodeError(
                "exec: \(name) did not finish within \(formatNumber(seconds)) s and was stopped; raise 'timeout' if it needs longer"
            )
        }
        var stdout = result.stdout
        if stdout.hasSuffix("\n") { stdout.removeLast() }
        guard usesOutput else { return ["image": .image(image!), "stdout": .string(stdout)] }
        guard FileManager.default.fileExists(atPath: outputPath) else {
            throw NodeError("exec: \(name) succeeded but wrote nothing to {output}\(Self.tail(result.stderr))")
        }
        do {
            return ["image": .image(try ImageFile.read(outputPath)), "stdout": .string(stdout)]
        } catch {
            throw NodeError("exec: \(name) wrote {output}, but it is not a readable image: \(error)")
        }
    }

    /// Whether a shell script reads positional parameter `position` (1-9): `$1`, `${1}`, or all
    /// of them through `$@` or `$*`.
    static func uses(_ script: String, position: Int) -> Bool {
        if script.contains("$@") || script.contains("$*") || script.contains("${\(position)}") { return true }
        var rest = Substring(script)
        while let range = rest.range(of: "$\(position)") {
            let after = rest[range.upperBound...]
            if !(after.first?.isNumber ?? false) { return true }
            rest = after
        }
        return false
    }

    /// The program's path: as given if it has a '/', else the first match on PATH.
    static func locate(_ program: String) throws -> String {
        if program.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw NodeError("exec: '\(program)' is not an executable file")
            }
            return program
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw NodeError("exec: program '\(program)' is not on PATH; install it or give its full path")
    }

    /// The last lines of the program's error output, to quote in a failure.
    static func tail(_ stderr: String) -> String {
        let lines = stderr.sourceLines.filter { !$0.isEmpty }.suffix(5)
        return lines.isEmpty ? "" : ": " + lines.joined(separator: " / ")
    }
}

/// A child process with its output captured to files (no pipe can fill up and stall it) and a
/// deadline after which it is terminated, then killed.
enum ChildProcess {
    enum Ending: Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut(Double)
    }

    static let outputLimit = 1 << 20

    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], workspace: URL,
        timeout: Double
    ) throws -> (ending: Ending, stdout: String, stderr: String) {
        let stdoutURL = workspace.appendingPathComponent("stdout.txt")
        let stderrURL = workspace.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: stdoutURL)
        let err = try FileHandle(forWritingTo: stderrURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            throw NodeError("exec: cannot start '\(executable)': \(error.localizedDescription)")
        }
        let ending: Ending
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if finished.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                finished.wait()
            }
            ending = .timedOut(timeout)
        } else {
            ending =
                process.terminationReason == .uncaughtSignal
                ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
        }
        func read(_ url: URL) -> String {
            guard let handle = try? FileHandle(forReadingFrom: url) else { return "" }
            defer { try? handle.close() }
            guard let data = try? handle.read(upToCount: outputLimit) else { return "" }
            return String(decoding: data, as: UTF8.self)
        }
        return (ending, read(stdoutURL), read(stderrURL))
    }
}
