import Foundation
import NodeKit
import Yams

/// A YAML scalar, sequence or mapping with the position it was written at.
indirect enum SyntaxValue: Sendable {
    case null(SourcePosition)
    case bool(Bool, SourcePosition)
    case integer(Int, SourcePosition)
    case number(Double, SourcePosition)
    case string(String, SourcePosition)
    case sequence([SyntaxValue], SourcePosition)
    case mapping([SyntaxEntry], SourcePosition)

    var location: SourcePosition {
        switch self {
        case .null(let l), .bool(_, let l), .integer(_, let l), .number(_, let l), .string(_, let l),
            .sequence(_, let l), .mapping(_, let l):
            l
        }
    }

    /// What a user would call this kind of value, for messages.
    var kindName: String {
        switch self {
        case .null: "nothing"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .number: "a number"
        case .string: "a string"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    var stringValue: String? {
        if case .string(let s, _) = self { return s }
        return nil
    }
}

/// One `key: value` pair of a mapping, in the order written.
struct SyntaxEntry: Sendable {
    let key: String
    let keyLocation: SourcePosition
    let value: SyntaxValue
}

extension [SyntaxEntry] {
    subscript(key: String) -> SyntaxEntry? { first { $0.key == key } }
}

/// What a workflow file may hold: far above any real workflow, far below what hurts. A workflow
/// is shared like a recipe, so a hostile one must be refused quickly and in little memory.
public enum WorkflowLimits {
    /// Bytes of the file; real workflows are a few kilobytes.
    public static let fileBytes = 1 << 20
    /// Mappings and lists inside one another; real workflows nest four or five deep.
    public static let depth = 32
    /// Values after YAML aliases are expanded. Aliases stay allowed (they are YAML, and `*args`
    /// saves repeating an argument list), but each expansion counts, so ten lines of nested
    /// aliases (the "billion laughs") are refused instead of growing to billions of strings.
    public static let values = 20_000
}

/// Parses YAML text, keeping every node's line and column.
enum SyntaxParser {
    static func parse(_ text: String, file: String) throws(ValidationFailure) -> SyntaxValue {
        guard text.utf8.count <= WorkflowLimits.fileBytes else {
            throw ValidationFailure([tooLarge(bytes: text.utf8.count, file: file)], source: nil)
        }
        let root: Yams.Node?
        // The parser holds the anchors (nodes refer to them weakly), which tell aliases apart.
        let parser: Yams.Parser
        do {
            parser = try Yams.Parser(yaml: text)
            root = try parser.singleRoot()
        } catch let error as YamlError {
            throw ValidationFailure([diagnostic(for: error, text: text, file: file)], source: text)
        } catch {
            throw ValidationFailure([Diagnostic("yaml_syntax", "invalid YAML: \(error)", at: nil)], source: text)
        }
        guard let root else {
            throw ValidationFailure(
                [
                    Diagnostic(
                        "empty_workflow", "the workflow file is empty",
                        at: SourcePosition(file: file, line: 1, column: 1),
                        help: "start with 'version: 1' and a 'nodes:' mapping")
                ],
                source: text)
        }
        var converter = Converter(file: file, text: text)
        do {
            return try withExtendedLifetime(parser) { () throws(LimitExceeded) in
                try converter.convert(root, depth: 1)
            }
        } catch {
            throw ValidationFailure([error.diagnostic], source: text)
        }
    }

    /// The refusal of a file over ``WorkflowLimits/fileBytes``, before it is read.
    static func tooLarge(bytes: Int?, file: String) -> Diagnostic {
        Diagnostic(
            "workflow_too_large",
            "the workflow file is over the limit of \(mebibytes(WorkflowLimits.fileBytes))"
                + (bytes.map { " (it holds \(mebibytes($0)))" } ?? ""),
            at: SourcePosition(file: file, line: 1, column: 1),
            help: "a workflow describes nodes, not data: is this the right file?")
    }

    static func tooDeep(at position: SourcePosition) -> Diagnostic {
        Diagnostic(
            "nesting_too_deep", "lists and mappings are nested more than \(WorkflowLimits.depth) deep here",
            at: position, help: "a workflow nests a few levels: node, inputs, a list of arguments")
    }

    private static func mebibytes(_ bytes: Int) -> String {
        bytes < 1 << 20 ? "\(bytes) bytes" : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }

    private static func location(_ mark: Mark?, _ file: String) -> SourcePosition {
        SourcePosition(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// A limit of ``WorkflowLimits`` crossed while converting.
    private struct LimitExceeded: Error {
        let diagnostic: Diagnostic
    }

    /// Turns Yams' tree into ours, counting values as aliases are expanded.
    private struct Converter {
        let file: String
        let text: String
        var values = 0
        /// Anchors whose node was converted once: meeting one again is an alias being expanded.
        var expanded: Set<String> = []
        /// The last alias met, named in a refusal (the anchor's node carries its own mark).
        var lastAlias: String?

        init(file: String, text: String) {
            self.file = file
            self.text = text
        }

        mutating func convert(_ node: Yams.Node, depth: Int) throws(LimitExceeded) -> SyntaxValue {
            let at = SyntaxParser.location(node.mark, file)
            if let anchor = node.anchor?.rawValue, !expanded.insert(anchor).inserted { lastAlias = anchor }
            values += 1
            if values > WorkflowLimits.values { throw LimitExceeded(diagnostic: tooManyValues(at)) }
            if depth > WorkflowLimits.depth {
                throw LimitExceeded(diagnostic: SyntaxParser.tooDeep(at: at))
            }
            switch node {
            case .scalar(let scalar):
                if scalar.style == .plain || scalar.style == .any {
                    if node.null != nil { return .null(at) }
                    if let b = node.bool { return .bool(b, at) }
                    if let i = node.int { return .integer(i, at) }
                    if let d = node.float { return .number(d, at) }
                }
                // Point quoted strings at their first character, so positions inside them line up.
                let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
                return .string(
                    scalar.string, quoted ? SourcePosition(file: file, line: at.line, column: at.column + 1) : at)
            case .sequence(let sequence):
                var items: [SyntaxValue] = []
                for item in sequence { items.append(try convert(item, depth: depth + 1)) }
                return .sequence(items, at)
            case .mapping(let mapping):
                var entries: [SyntaxEntry] = []
                for (key, value) in mapping {
                    entries.append(
                        SyntaxEntry(
                            key: key.string ?? "\(key)", keyLocation: SyntaxParser.location(key.mark, file),
                            value: try convert(value, depth: depth + 1)))
                }
                return .mapping(entries, at)
            case .alias:
                return .null(at)  // aliases are resolved by compose; an unresolved one carries nothing
            }
        }

        private func tooManyValues(_ at: SourcePosition) -> Diagnostic {
            guard let alias = lastAlias else {
                return Diagnostic(
                    "workflow_too_large", "the workflow holds more than \(WorkflowLimits.values) values", at: at,
                    help: "a workflow describes nodes, not data: is this the right file?")
            }
            // Point at the first use of the alias, which is what multiplies.
            var position = at
            let lines = text.sourceLines
            search: for (index, line) in lines.enumerated() {
                let scalars = Array(line.unicodeScalars)
                let name = Array(("*" + alias).unicodeScalars)
                var column = 0
                while column + name.count <= scalars.count {
                    if Array(scalars[column..<(column + name.count)]) == name {
                        position = SourcePosition(file: file, line: index + 1, column: column + 1)
                        break search
                    }
                    column += 1
                }
            }
            return Diagnostic(
                "alias_expansion_limit",
                "YAML aliases expand this workflow to more than \(WorkflowLimits.values) values "
                    + "('*\(alias)' repeats what '&\(alias)' holds, and aliases inside it multiply)",
                at: position,
                help: "write the repeated part out, or alias only small values (an argument list, a setting)")
        }
    }

    private static func diagnostic(for error: YamlError, text: String, file: String) -> Diagnostic {
        switch error {
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the first occurrence; point at the repeat, which is the one to fix.
            let key = duplicates.first ?? "?"
            let first = context.mark
            let repeatAt = findRepeat(of: key, after: first, in: text) ?? (first.line, first.column)
            return Diagnostic(
                "duplicate_key", "duplicate key '\(key)'",
                at: SourcePosition(file: file, line: repeatAt.line, column: repeatAt.column),
                help: "'\(key)' is already defined at line \(first.line); keep one of them")
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            if problem.hasPrefix("Maximum nesting level") {
                return tooDeep(at: SourcePosition(file: file, line: mark.line, column: mark.column))
            }
            var message = "invalid YAML: \(problem)"
            if let context { message += " \(context.text)" }
            var (line, column) = (mark.line, mark.column)
            // At the end of a file without a final newline libyaml counts one more line; point
            // at the end of the last line instead, which can be shown.
            let lines = text.sourceLines
            if line > lines.count, let last = lines.last {
                (line, column) = (lines.count, last.unicodeScalars.count + 1)
            }
            return Diagnostic(
                "yaml_syntax", message, at: SourcePosition(file: file, line: line, column: column),
                help: "check indentation, colons and quotes around this point")
        default:
            return Diagnostic(
                "yaml_syntax", "invalid YAML: \(error)", at: SourcePosition(file: file, line: 1, column: 1))
        }
    }

    /// The position of `key:` written again after `first` (same column in block style, or later
    /// on the same line in flow style).
    private static func findRepeat(of key: String, after first: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.sourceLines.map(String.init)
        for lineIndex in (first.line - 1)..<lines.count {
            let scalars = Array(lines[lineIndex].unicodeScalars)
            let start = lineIndex == first.line - 1 ? first.column : 0
            var column = start
            while column + key.unicodeScalars.count <= scalars.count {
                let candidate = String(String.UnicodeScalarView(scalars[column..<(column + key.unicodeScalars.count)]))
                let before = column == 0 ? " " : scalars[column - 1]
                var after = column + key.unicodeScalars.count
                while after < scalars.count && scalars[after] == " " { after += 1 }
                if candidate == key, " {,\t".unicodeScalars.contains(before),
                    after < scalars.count, scalars[after] == ":"
                {
                    return (lineIndex + 1, column + 1)
                }
                column += 1
            }
        }
        return nil
    }
}
