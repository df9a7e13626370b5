import ArgumentParser
import Foundation
import NodeKit
import Synchronization
import Workflow

/// Prints run events: a live progress line on a terminal, one line per file otherwise, or JSON
/// for machines. Thread-safe.
final class RunLog: Sendable {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    private let format: Format
    private let quiet: Bool
    /// Standard output is a terminal: redraw one progress line instead of printing a line per file.
    private let live: Bool
    /// Completion times of the latest files, for a rate (and ETA) that follows recent speed.
    private let recent = Mutex<[Date]>([])
    private let lock = Mutex(())
    private let started = Date()

    init(format: Format, quiet: Bool) {
        self.format = format
        self.quiet = quiet
        self.live = format == .text && !quiet && isatty(STDOUT_FILENO) == 1
    }

    /// When the files started (the shared nodes done): the rate's clock.
    private let processing = Mutex<Date?>(nil)

    /// Files per second over the last 20 files processed, or since the files started before
    /// that — never from two files that happen to finish together — and how many it rests on.
    /// Files already done (`--resume`) take no time and are not counted.
    private func rate(now: Date, counted: Bool) -> (perSecond: Double, files: Int) {
        let start = processing.withLock { $0 } ?? started
        return recent.withLock { times in
            if counted { times.append(now) }
            if times.count > 21 { times.removeFirst(times.count - 21) }
            let (files, since) = times.count == 21 ? (20, times[0]) : (times.count, start)
            return (Double(files) / max(now.timeIntervalSince(since), 1e-3), files)
        }
    }

    /// The time left at `perSecond`, once it rests on 3 files or more: the first files of a
    /// batch say little about the rest.
    private func eta(_ left: Int, _ rate: (perSecond: Double, files: Int)) -> String {
        rate.files < 3 ? "–" : clock(Double(left) / max(rate.perSecond, 1e-9))
    }

    private func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600
            ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }

    func record(_ event: RunEvent) {
        if case .itemsFound = event { processing.withLock { $0 = $0 ?? Date() } }
        lock.withLock { _ in
            switch (format, event) {
            case (.json, .sharedNodeFinished(let name, let seconds)):
                emit(["event": "node_done", "node": name, "seconds": seconds])
            case (.json, .cache(let node, let item, let outcome, let key, let detail)):
                var object: [String: Any] = ["event": "cache", "node": node, "outcome": outcome.rawValue, "key": key]
                if let item { object["path"] = item }
                if let detail { object["detail"] = detail }
                emit(object)
            case (.text, .cache(let node, let item, let outcome, let key, let detail)):
                let subject = "\(node)" + (item.map { " (\($0))" } ?? "")
                switch outcome {
                case .hit: if !quiet { print("\(subject): reused cached result \(key.prefix(12))") }
                case .miss: if !quiet { print("\(subject): computed and cached as \(key.prefix(12))") }
                case .corrupt:
                    printError(
                        "warning: \(subject): cached result \(key.prefix(12)) was damaged (\(detail ?? "")); recomputed"
                    )
                }
            case (.json, .itemsFound(let count)):
                emit(["event": "items", "count": count])
            case (.json, .itemFinished(let result, let completed, let total)):
                var object: [String: Any] = [
                    "event": "item", "status": result.status.rawValue,
                    "path": result.item.relativePath, "seconds": result.seconds,
                    "sweep": result.variant ?? "",
                    "completed": completed, "total": total,
                ]
                if let node = result.failedNode { object["node"] = node }
                if let message = result.message { object["error"] = message }
                if !result.outputs.isEmpty { object["outputs"] = result.outputs }
                emit(object)
            case (.text, .sharedNodeFinished(let name, let seconds)):
                if !quiet { print("ran \(name) once (\(String(format: "%.2f", seconds)) s)") }
            case (.text, .itemsFound(let count)):
                if !quiet { print("\(count) file\(count == 1 ? "" : "s") to process") }
            case (.text, .itemFinished(let result, let completed, let total)):
                let measured = rate(now: Date(), counted: result.status != .alreadyDone)
                let (perSecond, eta) = (measured.perSecond, eta(total - completed, measured))
                if result.status == .failed {
                    if live { print("\r\u{1B}[K", terminator: "") }
                    printError(
                        "failed \(result.label): node '\(result.failedNode ?? "?")': \(result.message ?? "")"
                    )
                }
                if live {
                    let line =
                        "[\(completed)/\(total)] \(String(format: "%.1f", perSecond)) files/s, ETA \(eta)  \(result.item.relativePath)"
                    print("\r\u{1B}[K" + String(line.prefix(120)), terminator: "")
                    fflush(nil)  // all streams: naming `stdout` is not concurrency-safe in Swift 6
                } else if !quiet && result.status != .failed {
                    let what =
                        switch result.status {
                        case .alreadyDone: "already done"
                        case .filtered: "filtered: \(result.message ?? "")"
                        default: String(format: "%.2f s", result.seconds)
                        }
                    print(
                        "[\(completed)/\(total)] \(result.label) \(what) (\(String(format: "%.1f", perSecond)) files/s, ETA \(eta))"
                    )
                }
            }
            // Line by line into a file or pipe too: a run killed later keeps its log so far.
            if !live { fflush(nil) }
        }
    }

    /// Prints the summary; `resume` is the command that finishes a run that stopped early.
    func finish(_ summary: RunSummary, manifest: String, resume: String?) {
        lock.withLock { _ in
            if format == .json {
                var object: [String: Any] = [
                    "event": "summary", "done": summary.done, "failed": summary.failed.count,
                    "skipped": summary.skipped, "already_done": summary.alreadyDone, "filtered": summary.filtered,
                    "seconds": summary.seconds, "manifest": manifest,
                ]
                if let stopped = summary.stopped { object["stopped"] = stopped.description }
                if let resume { object["resume"] = resume }
                emit(object)
                return
            }
            if live { print("\r\u{1B}[K", terminator: "") }
            // Without files (no node iterates), only the time is news.
            if processing.withLock({ $0 }) == nil
                && summary.done + summary.failed.count + summary.skipped + summary.filtered == 0
            {
                print("done in \(String(format: "%.2f", summary.seconds)) s")
                return
            }
            var line =
                "done \(summary.done), failed \(summary.failed.count), skipped \(summary.skipped)"
                + (summary.alreadyDone > 0 ? ", already done \(summary.alreadyDone)" : "")
                + (summary.filtered > 0 ? ", filtered \(summary.filtered)" : "")
                + " in \(String(format: "%.2f", summary.seconds)) s"
            if summary.skipped > 0 || !summary.failed.isEmpty {
                line += "\nper-file record: \(manifest)"
            }
            if !summary.failed.isEmpty {
                line += "\nfailed files:"
                for failure in summary.failed {
                    line += "\n  \(failure.item.path): node '\(failure.failedNode ?? "?")': \(failure.message ?? "")"
                }
            }
            // The count is in the first line as "skipped"; this says why.
            if let stopped = summary.stopped { line += "\n\(stopped)" }
            if let resume { line += "\nto finish the rest, run: \(resume)" }
            print(line)
            fflush(nil)
        }
    }

    private func emit(_ object: [String: Any]) { printJSON(object) }
}
