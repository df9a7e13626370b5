import Foundation
import NodeKit

extension Expression {
    /// The type this expression produces, given the types of the references in it.
    func inferType(_ typeOf: (Reference) -> PortType?) throws(ExpressionError) -> PortType {
        switch self {
        case .literal(let value, _):
            return value.type
        case .reference(let r):
            guard let type = typeOf(r) else {
                throw ExpressionError(message: "unresolved \(r.text)", location: r.location)
            }
            return type
        case .itemVariable(let name, _):
            return name == "index" ? .integer : .string
        case .template(let parts, _):
            for part in parts { _ = try part.scalarType(typeOf) }
            return .string
        case .list(let elements, _):
            for element in elements { _ = try element.scalarType(typeOf) }
            return .strings
        case .unary(let op, let operand, let at):
            let type = try operand.scalarType(typeOf)
            if op == "!" {
                guard type == .bool else {
                    throw ExpressionError(message: "'!' needs a boolean, not \(type)", location: at)
                }
                return .bool
            }
            guard type.isNumeric else {
                throw ExpressionError(message: "'-' needs a number, not \(type)", location: at)
            }
            return type
        case .binary(let op, let a, let b, let at):
            let (x, y) = (try a.scalarType(typeOf), try b.scalarType(typeOf))
            switch op {
            case "??":
                if x == y { return x }
                if x.isNumeric && y.isNumeric { return .number }
                if x.isText && y.isText { return .string }
                throw ExpressionError(message: "'??' gives \(x) or \(y): make them one type", location: at)
            case "&&", "||":
                guard x == .bool && y == .bool else {
                    throw ExpressionError(message: "'\(op)' needs booleans, not \(x) and \(y)", location: at)
                }
                return .bool
            case "==", "!=":
                guard x == y || (x.isNumeric && y.isNumeric) || (x.isText && y.isText) else {
                    throw ExpressionError(message: "cannot compare \(x) with \(y)", location: at)
                }
                return .bool
            case "<", "<=", ">", ">=":
                guard (x.isNumeric && y.isNumeric) || (x.isText && y.isText) else {
                    throw ExpressionError(message: "cannot order \(x) and \(y)", location: at)
                }
                return .bool
            case "+" where x.isText || y.isText:
                return .string
            default:
                guard x.isNumeric && y.isNumeric else {
                    throw ExpressionError(
                        message: "'\(op)' needs numbers, not \(x) and \(y)", location: at,
                        help: op == "+" ? "'+' joins strings when either side is a string" : nil)
                }
                return (x == .integer && y == .integer && op != "/") ? .integer : .number
            }
        case .conditional(let condition, let a, let b):
            guard try condition.scalarType(typeOf) == .bool else {
                throw ExpressionError(
                    message: "the condition before '?' must be a boolean", location: condition.location)
            }
            let (x, y) = (try a.inferType(typeOf), try b.inferType(typeOf))
            if x == y { return x }
            if x.isNumeric && y.isNumeric { return .number }
            if x.isText && y.isText { return .string }
            throw ExpressionError(message: "the two branches give \(x) and \(y)", location: a.location)
        case .call(let name, let arguments, let at):
            let types = try arguments.map { (e: Expression) throws(ExpressionError) in try e.scalarType(typeOf) }
            func need(_ count: ClosedRange<Int>) throws(ExpressionError) {
                guard count.contains(arguments.count) else {
                    throw ExpressionError(
                        message:
                            "\(name) takes \(count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound) or more") argument\(count.upperBound == 1 ? "" : "s"), not \(arguments.count)",
                        location: at)
                }
            }
            func numeric() throws(ExpressionError) {
                if let bad = types.first(where: { !$0.isNumeric }) {
                    throw ExpressionError(message: "\(name) needs numbers, not \(bad)", location: at)
                }
            }
            switch name {
            case "str":
                try need(1...1)
                return .string
            case "round", "floor", "ceil":
                try need(1...1)
                try numeric()
                return .integer
            case "abs":
                try need(1...1)
                try numeric()
                return types[0]
            case "clamp":
                try need(3...3)
                try numeric()
                return types.allSatisfy { $0 == .integer } ? .integer : .number
            default:  // min, max
                try need(1...Int.max)
                try numeric()
                return types.allSatisfy { $0 == .integer } ? .integer : .number
            }
        }
    }

    /// Like `inferType`, refusing images and masks, which have no place inside arithmetic or text.
    private func scalarType(_ typeOf: (Reference) -> PortType?) throws(ExpressionError) -> PortType {
        let type = try inferType(typeOf)
        if type == .image || type == .mask || type == .strings {
            throw ExpressionError(
                message: "\(type) values cannot be used inside an expression", location: location,
                help: "pass the \(type) on its own, as '$node.port'")
        }
        return type
    }

    /// The value of this expression.
    func evaluate(_ resolve: (Reference) throws -> Value, item: NodeContext.Item?) throws -> Value {
        switch self {
        case .literal(let value, _):
            return value
        case .reference(let r):
            return try resolve(r)
        case .itemVariable(let name, _):
            guard let item else { throw NodeError("{\(name)} is only defined while iterating over files") }
            switch name {
            case "stem": return .string(item.stem)
            case "ext": return .string(item.ext)
            case "name": return .string(item.name)
            case "index": return .integer(item.index)
            case "relpath":
                return .string(item.relativeDirectory.isEmpty ? item.stem : item.relativeDirectory + "/" + item.stem)
            default: return .string(item.relativeDirectory)
            }
        case .template(let parts, _):
            return .string(try parts.map { try $0.evaluate(resolve, item: item).text }.joined())
        case .list(let elements, _):
            return .strings(try elements.map { try $0.evaluate(resolve, item: item).text })
        case .unary(let op, let operand, _):
            let value = try operand.evaluate(resolve, item: item)
            switch (op, value) {
            case ("!", .bool(let b)): return .bool(!b)
            case ("-", .integer(let i)): return .integer(-i)
            case ("-", .number(let n)): return .number(-n)
            default: throw NodeError("cannot apply '\(op)' to \(value)")
            }
        case .binary("??", let a, let b, _):
            do {
                return try a.evaluate(resolve, item: item)
            } catch is AbsentValue {
                return try b.evaluate(resolve, item: item)
            }
        case .binary(let op, let a, let b, _) where op == "==" || op == "!=":
            // An absent value equals only another absent one.
            let x = Result { try a.evaluate(resolve, item: item) }
            let y = Result { try b.evaluate(resolve, item: item) }
            let equal: Bool
            switch (x, y) {
            case (.success(let p), .success(let q)): equal = Self.equal(p, q)
            case (.failure(let e), _) where !(e is AbsentValue): throw e
            case (_, .failure(let e)) where !(e is AbsentValue): throw e
            case (.failure, .failure): equal = true
            default: equal = false
            }
            return .bool(op == "==" ? equal : !equal)
        case .binary(let op, let a, let b, _):
            let x = try a.evaluate(resolve, item: item)
            if op == "&&", case .bool(false) = x { return .bool(false) }
            if op == "||", case .bool(true) = x { return .bool(true) }
            return try Self.apply(op, x, try b.evaluate(resolve, item: item))
        case .conditional(let condition, let a, let b):
            guard case .bool(let c) = try condition.evaluate(resolve, item: item) else {
                throw NodeError("the condition before '?' is not a boolean")
            }
            return try (c ? a : b).evaluate(resolve, item: item)
        case .call(let name, let arguments, _):
            return try Self.call(name, try arguments.map { try $0.evaluate(resolve, item: item) })
        }
    }

    private static func apply(_ op: String, _ x: Value, _ y: Value) throws -> Value {
        if op == "+", x.type.isText || y.type.isText { return .string(x.text + y.text) }
        switch op {
        case "&&", "||":
            guard case .bool(let p) = x, case .bool(let q) = y else { throw NodeError("'\(op)' needs booleans") }
            return .bool(op == "&&" ? p && q : p || q)
        case "==": return .bool(equal(x, y))
        case "!=": return .bool(!equal(x, y))
        case "<", "<=", ">", ">=":
            let ordered: Bool
            if x.type.isText, y.type.isText {
                ordered = compare(op, x.text, y.text)
            } else {
                ordered = compare(op, try x.numeric(), try y.numeric())
            }
            return .bool(ordered)
        default:
            if case .integer(let p) = x, case .integer(let q) = y, op != "/" {
                switch op {
                case "+": return .integer(p &+ q)
                case "-": return .integer(p &- q)
                case "*": return .integer(p &* q)
                default:
                    guard q != 0 else { throw NodeError("remainder of division by zero") }
                    return .integer(p % q)
                }
            }
            let (p, q) = (try x.numeric(), try y.numeric())
            switch op {
            case "+": return .number(p + q)
            case "-": return .number(p - q)
            case "*": return .number(p * q)
            case "/":
                guard q != 0 else { throw NodeError("division by zero") }
                return .number(p / q)
            default:
                guard q != 0 else { throw NodeError("remainder of division by zero") }
                return .number(fmod(p, q))
            }
        }
    }

    private static func equal(_ x: Value, _ y: Value) -> Bool {
        if x.type.isNumeric, y.type.isNumeric, let p = try? x.numeric(), let q = try? y.numeric() { return p == q }
        if x.type.isText, y.type.isText { return x.text == y.text }
        return x == y
    }

    private static func compare<T: Comparable>(_ op: String, _ p: T, _ q: T) -> Bool {
        switch op {
        case "<": p < q
        case "<=": p <= q
        case ">": p > q
        default: p >= q
        }
    }

    private static func call(_ name: String, _ values: [Value]) throws -> Value {
        if name == "str" { return .string(values[0].text) }
        let allIntegers = values.allSatisfy { $0.type == .integer }
        let numbers = try values.map { try $0.numeric() }
        func wrap(_ result: Double) -> Value { allIntegers ? .integer(Int(result)) : .number(result) }
        switch name {
        case "round": return .integer(Int(numbers[0].rounded()))
        case "floor": return .integer(Int(numbers[0].rounded(.down)))
        case "ceil": return .integer(Int(numbers[0].rounded(.up)))
        case "abs": return wrap(abs(numbers[0]))
        case "clamp": return wrap(min(max(numbers[0], numbers[1]), numbers[2]))
        case "min": return wrap(numbers.min()!)
        default: return wrap(numbers.max()!)
        }
    }
}

extension PortType {
    var isNumeric: Bool { self == .number || self == .integer }
    var isText: Bool { self == .string || self == .path }
}

extension Value {
    /// The value as text: how it appears when joined into a template.
    public var text: String {
        switch self {
        case .string(let s), .path(let s): s
        case .number(let n): formatNumber(n)
        case .integer(let i): String(i)
        case .bool(let b): String(b)
        case .strings(let list): list.joined(separator: " ")
        case .image, .mask, .delta, .images: description
        }
    }

    func numeric() throws -> Double {
        guard let number = numericValue else { throw NodeError("expected a number, got \(self)") }
        return number
    }
}
