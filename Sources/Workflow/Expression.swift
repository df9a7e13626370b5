import Foundation
import NodeKit
import Spelling

/// `$name` (a param) or `$node.port` (a node's output).
struct Reference: Sendable, Equatable {
    let name: String
    let port: String?
    let location: SourcePosition

    var text: String { "$" + name + (port.map { "." + $0 } ?? "") }
}

/// A value written in a workflow: a constant, a reference, an item template, or an
/// expression. The language is deliberately small — arithmetic, comparisons, a few functions —
/// with no general-purpose scripting.
indirect enum Expression: Sendable {
    case literal(Value, SourcePosition)
    case reference(Reference)
    /// `stem`, `ext`, `name`, `index`, `relpath`, `reldir`: facts of the current item.
    case itemVariable(String, SourcePosition)
    case unary(String, Expression, SourcePosition)
    case binary(String, Expression, Expression, SourcePosition)
    case conditional(Expression, Expression, Expression)
    case call(String, [Expression], SourcePosition)
    /// Parts joined into one string.
    case template([Expression], SourcePosition)
    /// A YAML list: each element becomes one string of a `strings` value (a command's arguments).
    case list([Expression], SourcePosition)

    var location: SourcePosition {
        switch self {
        case .literal(_, let l), .itemVariable(_, let l), .unary(_, _, let l), .binary(_, _, _, let l),
            .call(_, _, let l), .template(_, let l), .list(_, let l):
            l
        case .reference(let r): r.location
        case .conditional(let c, _, _): c.location
        }
    }

    /// Every reference inside, in order.
    var references: [Reference] {
        switch self {
        case .literal, .itemVariable: []
        case .reference(let r): [r]
        case .unary(_, let e, _): e.references
        case .binary(_, let a, let b, _): a.references + b.references
        case .conditional(let c, let a, let b): c.references + a.references + b.references
        case .call(_, let args, _), .template(let args, _), .list(let args, _): args.flatMap(\.references)
        }
    }

    /// Every item variable inside, with its position.
    var itemVariables: [(String, SourcePosition)] {
        switch self {
        case .literal, .reference: []
        case .itemVariable(let name, let l): [(name, l)]
        case .unary(_, let e, _): e.itemVariables
        case .binary(_, let a, let b, _): a.itemVariables + b.itemVariables
        case .conditional(let c, let a, let b): c.itemVariables + a.itemVariables + b.itemVariables
        case .call(_, let args, _), .template(let args, _), .list(let args, _): args.flatMap(\.itemVariables)
        }
    }
}

let itemVariableNames = ["stem", "ext", "name", "index", "relpath", "reldir"]
let functionNames = ["min", "max", "abs", "round", "floor", "ceil", "clamp", "str"]

/// An expression that could not be parsed.
struct ExpressionError: Error {
    let message: String
    let location: SourcePosition
    var help: String? = nil
}

extension Expression {
    /// The expression a YAML value stands for. `placeholders` are `{names}` the node fills in
    /// itself (exec's `{input}`); they stay in the text as written.
    /// `params` are the names `{name}` reads as a param's value (`{strength}`); `{sweep}` is
    /// always one.
    static func parse(
        _ value: SyntaxValue, placeholders: [String] = [], params: Set<String> = []
    ) throws(ExpressionError) -> Expression {
        switch value {
        case .null(let l):
            throw ExpressionError(message: "no value given", location: l, help: "write a value after the colon")
        case .bool(let b, let l): return .literal(.bool(b), l)
        case .integer(let i, let l): return .literal(.integer(i), l)
        case .number(let d, let l): return .literal(.number(d), l)
        case .string(let s, let l): return try parseString(s, at: l, placeholders: placeholders, params: params)
        case .sequence(let elements, let l):
            var parsed: [Expression] = []
            for element in elements {
                if case .sequence(_, let at) = element {
                    throw ExpressionError(message: "a list cannot hold a list", location: at)
                }
                parsed.append(try parse(element, placeholders: placeholders, params: params))
            }
            return .list(parsed, l)
        case .mapping(_, let l):
            throw ExpressionError(message: "expected a single value, found \(value.kindName)", location: l)
        }
    }

    /// A whole `$ref`, or a string with `{item}` placeholders and `${expression}` parts.
    static func parseString(
        _ text: String, at location: SourcePosition,
        placeholders: [String] = [], params: Set<String> = []
    ) throws(ExpressionError) -> Expression {
        let scalars = Array(text.unicodeScalars)
        if let reference = wholeReference(scalars, at: location) { return .reference(reference) }
        var parts: [Expression] = []
        var literal = ""
        var i = 0
        func at(_ offset: Int) -> SourcePosition {
            SourcePosition(file: location.file, line: location.line, column: location.column + offset)
        }
        func flush() {
            if !literal.isEmpty {
                parts.append(.literal(.string(literal), location))
                literal = ""
            }
        }
        while i < scalars.count {
            let c = scalars[i]
            let next = i + 1 < scalars.count ? scalars[i + 1] : nil
            if c == "$" && next == "{" {
                guard let close = matchingBrace(scalars, from: i + 1) else {
                    throw ExpressionError(
                        message: "'${' is never closed", location: at(i), help: "end the expression with '}'")
                }
                flush()
                var parser = ExpressionParser(Array(scalars[(i + 2)..<close]), origin: at(i + 2))
                parts.append(try parser.parseAll())
                i = close + 1
            } else if c == "{" && next == "{" {
                literal += "{"
                i += 2
            } else if c == "}" && next == "}" {
                literal += "}"
                i += 2
            } else if c == "{" {
                guard let close = scalars[i...].firstIndex(of: "}") else {
                    throw ExpressionError(
                        message: "'{' is never closed", location: at(i),
                        help: "write '{{' for a literal brace")
                }
                let name = String(String.UnicodeScalarView(scalars[(i + 1)..<close]))
                if name == "workflow_dir" {
                    // The folder of the file it is written in: a library's own files, wherever
                    // the workflow using it is run from.
                    literal += workflowDirectory(of: location.file)
                    i = close + 1
                    continue
                }
                if placeholders.contains(name) {
                    literal += "{\(name)}"
                    i = close + 1
                    continue
                }
                if !itemVariableNames.contains(name), name == "sweep" || params.contains(name) {
                    flush()
                    parts.append(.reference(Reference(name: name, port: nil, location: at(i))))
                    i = close + 1
                    continue
                }
                guard itemVariableNames.contains(name) else {
                    let known = itemVariableNames + placeholders + ["workflow_dir", "sweep"] + params.sorted()
                    let guess = closestMatch(to: name, in: known)
                    throw ExpressionError(
                        message: "unknown placeholder '{\(name)}'", location: at(i),
                        help: guess.map { "did you mean '{\($0)}'?" }
                            ?? "placeholders are \(known.map { "{\($0)}" }.joined(separator: ", ")); write '{{' for a literal brace"
                    )
                }
                flush()
                parts.append(.itemVariable(name, at(i)))
                i = close + 1
            } else {
                literal.unicodeScalars.append(c)
                i += 1
            }
        }
        flush()
        if parts.count == 1, case .literal = parts[0] { return parts[0] }
        // Exactly "${expr}": the expression's own value and type, not its text.
        if parts.count == 1, text.hasPrefix("${") { return parts[0] }
        if parts.isEmpty { return .literal(.string(""), location) }
        return .template(parts, location)
    }

    private static func wholeReference(_ s: [Unicode.Scalar], at location: SourcePosition) -> Reference? {
        guard s.first == "$", s.count > 1 else { return nil }
        let body = String(String.UnicodeScalarView(s.dropFirst()))
        let pieces = body.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // A port may have a dotted name: `$photo.exif.model`.
        guard (1...3).contains(pieces.count), pieces.allSatisfy(isIdentifier) else { return nil }
        return Reference(
            name: pieces[0], port: pieces.count > 1 ? pieces[1...].joined(separator: ".") : nil, location: location)
    }

    private static func matchingBrace(_ s: [Unicode.Scalar], from open: Int) -> Int? {
        var depth = 0
        var quote: Unicode.Scalar?
        for i in open..<s.count {
            if let q = quote {
                if s[i] == q { quote = nil }
                continue
            }
            switch s[i] {
            case "'", "\"": quote = s[i]
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
        }
        return nil
    }
}

/// Recursive descent over the text inside `${ … }`.
struct ExpressionParser {
    private let s: [Unicode.Scalar]
    private let origin: SourcePosition
    private var i = 0

    init(_ scalars: [Unicode.Scalar], origin: SourcePosition) {
        self.s = scalars
        self.origin = origin
    }

    private func at(_ offset: Int) -> SourcePosition {
        SourcePosition(file: origin.file, line: origin.line, column: origin.column + offset)
    }

    private func fail(_ message: String, help: String? = nil) -> ExpressionError {
        ExpressionError(message: message, location: at(i), help: help)
    }

    private mutating func skipSpace() {
        while i < s.count, s[i] == " " || s[i] == "\t" { i += 1 }
    }

    private mutating func eat(_ token: String) -> Bool {
        skipSpace()
        let t = Array(token.unicodeScalars)
        guard i + t.count <= s.count, Array(s[i..<(i + t.count)]) == t else { return false }
        // '<' must not swallow the start of '<=', '=' of '==', and so on.
        if t.count == 1, i + 1 < s.count, "<>=!".unicodeScalars.contains(t[0]), s[i + 1] == "=" { return false }
        i += t.count
        return true
    }

    mutating func parseAll() throws(ExpressionError) -> Expression {
        skipSpace()
        if i == s.count { throw fail("empty expression", help: "write something between '${' and '}'") }
        let e = try parseConditional()
        skipSpace()
        if i < s.count { throw fail("unexpected '\(Character(s[i]))'") }
        return e
    }

    private mutating func parseConditional() throws(ExpressionError) -> Expression {
        let condition = try parseBinary(level: 0)
        guard eat("?") else { return condition }
        let a = try parseConditional()
        guard eat(":") else { throw fail("expected ':' in a conditional 'a ? b : c'") }
        let b = try parseConditional()
        return .conditional(condition, a, b)
    }

    private static let levels: [[String]] = [
        ["??"], ["||"], ["&&"], ["==", "!=", "<=", ">=", "<", ">"], ["+", "-"], ["*", "/", "%"],
    ]

    private mutating func parseBinary(level: Int) throws(ExpressionError) -> Expression {
        if level == Self.levels.count { return try parseUnary() }
        var left = try parseBinary(level: level + 1)
        while true {
            skipSpace()
            let start = i
            guard let op = Self.levels[level].first(where: { eat($0) }) else { return left }
            let right = try parseBinary(level: level + 1)
            left = .binary(op, left, right, at(start))
        }
    }

    private mutating func parseUnary() throws(ExpressionError) -> Expression {
        skipSpace()
        let start = i
        if eat("-") { return .unary("-", try parseUnary(), at(start)) }
        if eat("!") { return .unary("!", try parseUnary(), at(start)) }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ExpressionError) -> Expression {
        skipSpace()
        guard i < s.count else { throw fail("expression ends too early") }
        let start = i
        let c = s[i]
        if c == "(" {
            i += 1
            let inner = try parseConditional()
            guard eat(")") else { throw fail("expected ')'") }
            return inner
        }
        if c == "'" || c == "\"" {
            i += 1
            var text = ""
            while i < s.count, s[i] != c {
                text.unicodeScalars.append(s[i])
                i += 1
            }
            guard i < s.count else { throw ExpressionError(message: "string is never closed", location: at(start)) }
            i += 1
            return .literal(.string(text), at(start))
        }
        if ("0"..."9").contains(c) || c == "." {
            while i < s.count,
                ("0"..."9").contains(s[i]) || s[i] == "." || s[i] == "e"
                    || ((s[i] == "-" || s[i] == "+") && i > start && s[i - 1] == "e")
            { i += 1 }
            let text = String(String.UnicodeScalarView(s[start..<i]))
            if let integer = Int(text) { return .literal(.integer(integer), at(start)) }
            guard let number = Double(text) else {
                throw ExpressionError(message: "'\(text)' is not a number", location: at(start))
            }
            return .literal(.number(number), at(start))
        }
        if c == "$" {
            i += 1
            let name = identifier()
            guard !name.isEmpty else { throw fail("expected a name after '$'") }
            var port: String?
            while i < s.count, s[i] == ".", (port?.split(separator: ".").count ?? 0) < 2 {
                i += 1
                let part = identifier()
                if part.isEmpty { throw fail("expected a port name after '.'") }
                port = port.map { $0 + "." + part } ?? part
            }
            return .reference(Reference(name: name, port: port, location: at(start)))
        }
        let name = identifier()
        guard !name.isEmpty else { throw fail("unexpected '\(Character(c))'") }
        if name == "true" { return .literal(.bool(true), at(start)) }
        if name == "false" { return .literal(.bool(false), at(start)) }
        if eat("(") {
            guard functionNames.contains(name) else {
                throw ExpressionError(
                    message: "unknown function '\(name)'", location: at(start),
                    help: closestMatch(to: name, in: functionNames).map { "did you mean '\($0)'?" }
                        ?? "functions are \(functionNames.joined(separator: ", "))")
            }
            var arguments: [Expression] = []
            if !eat(")") {
                repeat { arguments.append(try parseConditional()) } while eat(",")
                guard eat(")") else { throw fail("expected ')' after the arguments of \(name)") }
            }
            return .call(name, arguments, at(start))
        }
        guard itemVariableNames.contains(name) else {
            throw ExpressionError(
                message: "unknown name '\(name)'", location: at(start),
                help:
                    "params and node outputs are written with '$' ($\(name)); item facts are \(itemVariableNames.joined(separator: ", "))"
            )
        }
        return .itemVariable(name, at(start))
    }

    private mutating func identifier() -> String {
        let start = i
        while i < s.count, s[i] == "_" || s[i].properties.isAlphabetic || (i > start && ("0"..."9").contains(s[i])) {
            i += 1
        }
        return String(String.UnicodeScalarView(s[start..<i]))
    }
}

extension Expression {
    /// Whether it reads only params and constants (no node's output), so it can be evaluated
    /// before anything runs.
    var isFixed: Bool { references.allSatisfy { $0.port == nil } }
}

extension Expression {
    /// References to values that may be absent (`optional` says which) used where a value must
    /// be there: anywhere but left of `??` or beside `==` / `!=`.
    func absentUses(_ optional: (Reference) -> Bool) -> [Reference] {
        switch self {
        case .literal, .itemVariable: return []
        case .reference(let r): return optional(r) ? [r] : []
        case .binary(let op, _, let b, _) where op == "??":
            // An absent value anywhere on the left gives the right.
            return b.absentUses(optional)
        case .binary(let op, let a, let b, _) where op == "==" || op == "!=":
            return [a, b].flatMap { side -> [Reference] in
                if case .reference = side { return [] }
                return side.absentUses(optional)
            }
        case .unary(_, let e, _): return e.absentUses(optional)
        case .binary(_, let a, let b, _): return a.absentUses(optional) + b.absentUses(optional)
        case .conditional(let c, let a, let b):
            return c.absentUses(optional) + a.absentUses(optional) + b.absentUses(optional)
        case .call(_, let args, _), .template(let args, _), .list(let args, _):
            return args.flatMap { $0.absentUses(optional) }
        }
    }
}

/// A value that may be absent (a photo's EXIF field) was read and is not there.
struct AbsentValue: Error, CustomStringConvertible {
    let reference: Reference
    var description: String {
        "\(reference.text) has no value for this file; write '\(reference.text) ?? …' to give one"
    }
}

/// What `{workflow_dir}` stands for in `file`: its folder, "." beside the working directory.
func workflowDirectory(of file: String) -> String {
    let folder = (file as NSString).deletingLastPathComponent
    return folder.isEmpty ? "." : folder
}
