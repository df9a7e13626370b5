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

/// Parses YAML text, keeping every node's line and column.
enum SyntaxParser {
    static func parse(_ text: String, file: String) throws(ValidationFailure) -> SyntaxValue {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
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
        return convert(root, file: file)
    }

    private static func location(_ mark: Mark?, _ file: String) -> SourcePosition {
        SourcePosition(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    private static func convert(_ node: Yams.Node, file: String) -> SyntaxValue {
        let at = location(node.mark, file)
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
            return .sequence(sequence.map { convert($0, file: file) }, at)
        case .mapping(let mapping):
            return .mapping(
                mapping.map { key, value in
                    SyntaxEntry(
                        key: key.string ?? "\(key)", keyLocation: location(key.mark, file),
                        value: convert(value, file: file))
                }, at)
        case .alias:
            return .null(at)  // aliases are resolved by compose; an unresolved one carries nothing
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
