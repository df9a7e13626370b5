import Dispatch
import Foundation
import ImageCodecs
import Synchronization
import Workflow

/// SIGINT and SIGTERM during a run. The first stops new files from starting and lets the files
/// in progress finish and be recorded, so the run ends consistent and `--resume` picks up the
/// rest; a second abandons the files in progress at once, removing their temporary files. What
/// Kubernetes and Slurm send before their kill is SIGTERM, so a pod or job at its time limit
/// ends the first way.
final class Interrupts: @unchecked Sendable {
    let cancellation = Cancellation()
    /// The first signal received, 0 before any.
    private let first = Atomic<Int32>(0)
    /// Kept alive for as long as the handlers should run; set in `init` only (hence unchecked Sendable).
    private var sources: [any DispatchSourceSignal] = []

    init() {
        // A file-size limit (ulimit -f) must fail the write with EFBIG, not kill the process mid-file.
        signal(SIGXFSZ, SIG_IGN)
        let queue = DispatchQueue(label: "deltaflow.signals")
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)  // delivered to the dispatch source instead of ending the process
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in
                if first.compareExchange(expected: 0, desired: number, ordering: .relaxed).exchanged {
                    cancellation.cancel()
                    printError(
                        "\n\(Interrupts.name(number)): finishing the files in progress; no new file starts. "
                            + "Press Ctrl-C again to abandon them (nothing partial is written either way).")
                } else {
                    // The log so far, and how to go on, reach a redirected log too before the exit.
                    printError(
                        "\n\(Interrupts.name(number)), a second signal: abandoning the files in progress; nothing partial is left behind\n"
                            + "to finish the rest, run: \(resumeCommand())")
                    fflush(nil)
                    AtomicFile.exitRemovingTemporaries(status: 128 + number)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, if any.
    var received: Int32? {
        let number = first.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(number)"
        }
    }
}

/// This process's command line with `--resume` added: the command that finishes an interrupted run.
func resumeCommand() -> String {
    var arguments = CommandLine.arguments
    if !arguments.contains("--resume") { arguments.append("--resume") }
    return arguments.map(shellQuoted).joined(separator: " ")
}
