import Foundation
import NodeKit

/// What a workflow does beyond image processing — the programs it runs, the native code it
/// loads, the files it reads and writes — found from its text before any of it runs or loads:
/// a workflow is shared like a recipe, and this is what its user is asked to allow.
public struct WorkflowCapabilities: Sendable {
    /// A node that runs a program, with the command as written.
    public struct Program: Sendable {
        public let node: String
        public let command: String
        public let location: SourcePosition
    }

    /// A library of `plugins:`: where it was found (not loaded), or why it was not.
    public struct Plugin: Sendable {
        public let reference: String
        public let path: String?
        public let problem: String?
        public let location: SourcePosition
    }

    /// A node input naming a file or directory read or written, as written.
    public struct Access: Sendable {
        public let node: String
        public let kind: String
        public let port: String
        public let value: String
        public let location: SourcePosition
    }

    public internal(set) var programs: [Program] = []
    public internal(set) var plugins: [Plugin] = []
    public internal(set) var reads: [Access] = []
    public internal(set) var writes: [Access] = []
    /// Folders inside the workflow's own folder that it declares it writes (`writes:`).
    public internal(set) var declaredWrites: [String] = []

    /// Adds what a sub-workflow used as node `prefix` does.
    mutating func merge(_ inner: WorkflowCapabilities, prefix: String) {
        func renamed(_ a: Access) -> Access {
            Access(node: prefix + a.node, kind: a.kind, port: a.port, value: a.value, location: a.location)
        }
        programs += inner.programs.map { Program(node: prefix + $0.node, command: $0.command, location: $0.location) }
        plugins += inner.plugins
        reads += inner.reads.map(renamed)
        writes += inner.writes.map(renamed)
        declaredWrites += inner.declaredWrites
    }

    /// Whether it does anything but read images and write them where it is told.
    public var runsCode: Bool { !programs.isEmpty || !plugins.isEmpty }
}

extension Workflow {
    /// Surveys workflow text (named `file`, whose folder relative plugin paths start from)
    /// without validating it or loading its plugins; syntax errors and limits are reported as
    /// validation would.
    /// The sub-workflows it uses are surveyed too, read through `sources` (which then holds
    /// the text validation will use).
    public static func survey(
        _ text: String, file: String, registry: NodeRegistry, plugins: (any PluginResolver)?,
        sources: WorkflowSources = WorkflowSources()
    ) throws(ValidationFailure) -> WorkflowCapabilities {
        survey(
            try SyntaxParser.parse(text, file: file), file: file, registry: registry, plugins: plugins,
            sources: sources, within: [WriteConfinement.resolved(file)], memo: SurveyMemo())
    }

    /// Files surveyed once each, and how many node entries all uses add up to: past the limit of
    /// expanded nodes the workflow is refused anyway, so the survey stops growing.
    final class SurveyMemo {
        var surveyed: [String: WorkflowCapabilities] = [:]
        var entries = 0
    }

    static func survey(
        _ root: SyntaxValue, file: String, registry: NodeRegistry, plugins: (any PluginResolver)?,
        sources: WorkflowSources = WorkflowSources(), within: [String] = [], memo: SurveyMemo = SurveyMemo()
    ) -> WorkflowCapabilities {
        var found = WorkflowCapabilities()
        guard case .mapping(let top, _) = root else { return found }
        let folder = (file as NSString).deletingLastPathComponent
        if case .sequence(let items, _)? = top["plugins"]?.value {
            for item in items {
                guard let reference = item.stringValue else { continue }
                var (path, problem): (String?, String?) = (nil, nil)
                do {
                    guard let plugins else { throw PluginNotAllowed(path: reference) }
                    path = try plugins.locate(reference, relativeTo: folder.isEmpty ? "." : folder)
                } catch {
                    problem = "\(error)"
                }
                found.plugins.append(.init(reference: reference, path: path, problem: problem, location: item.location))
            }
        }
        if case .sequence(let items, _)? = top["writes"]?.value {
            found.declaredWrites = items.compactMap { $0.stringValue.flatMap { declaredWrite($0, folder: folder) } }
        }
        guard case .mapping(let nodes, _)? = top["nodes"]?.value else { return found }
        for entry in nodes {
            memo.entries += 1
            // What a sub-workflow does, its user allows with the workflow that uses it.
            if case .mapping(let fields, _) = entry.value, let written = fields["workflow"]?.value.stringValue,
                !written.isEmpty, within.count < SubWorkflowLimits.depth
            {
                let path = subWorkflowPath(written, usedIn: file)
                let identity = WriteConfinement.resolved(path)
                guard !within.contains(identity), memo.entries <= SubWorkflowLimits.nodes else { continue }
                if let known = memo.surveyed[identity] {
                    memo.entries += known.programs.count + known.reads.count + known.writes.count
                    found.merge(known, prefix: entry.key + "/")
                    continue
                }
                guard let text = try? sources.text(at: path), let parsed = try? SyntaxParser.parse(text, file: path)
                else { continue }
                let inner = survey(
                    parsed, file: path, registry: registry, plugins: plugins, sources: sources,
                    within: within + [identity], memo: memo)
                memo.surveyed[identity] = inner
                found.merge(inner, prefix: entry.key + "/")
                continue
            }
            guard case .mapping(let fields, _) = entry.value, let kind = fields["node"]?.value.stringValue,
                let descriptor = registry[kind]?.descriptor
            else { continue }
            if let port = descriptor.programInput, let command = fields[port] {
                var text = command.value.commandText
                if case .bool(true, _)? = fields["shell"]?.value { text = "/bin/sh -c " + text }
                found.programs.append(.init(node: entry.key, command: text, location: command.value.location))
            }
            func access(_ port: String, _ value: SyntaxValue) -> WorkflowCapabilities.Access {
                .init(node: entry.key, kind: kind, port: port, value: value.displayText, location: value.location)
            }
            if let each = fields["each"] { found.reads.append(access("each", each.value)) }
            for port in descriptor.readInputs where port != descriptor.iterationInput {
                if let field = fields[port] { found.reads.append(access(port, field.value)) }
            }
            for port in descriptor.writeInputs {
                if let field = fields[port] { found.writes.append(access(port, field.value)) }
            }
        }
        return found
    }

    /// A `writes:` entry as an absolute path inside the workflow's folder, or nil when it
    /// leaves it (validation reports that).
    static func declaredWrite(_ entry: String, folder: String) -> String? {
        guard !entry.isEmpty, !entry.hasPrefix("/"), !entry.hasPrefix("~"),
            !entry.split(separator: "/").contains("..")
        else { return nil }
        let base = URL(fileURLWithPath: folder.isEmpty ? "." : folder)
        return base.appendingPathComponent(entry).standardizedFileURL.path
    }
}

extension SyntaxValue {
    /// A command as a shell would show it: a list's arguments quoted where needed.
    fileprivate var commandText: String {
        guard case .sequence(let items, _) = self else { return displayText }
        return items.map { shellQuoted($0.displayText) }.joined(separator: " ")
    }
}

/// `argument` as one word of a POSIX shell command line: as it is when it holds nothing a shell
/// reads specially, else single-quoted.
package func shellQuoted(_ argument: String) -> String {
    let plain =
        !argument.isEmpty
        && argument.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || "-_./=:,+@%".unicodeScalars.contains($0)
        }
    return plain ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
