import NodeKit
import Testing

@testable import Workflow

private let here = NodeKit.SourcePosition(file: "wf.yaml", line: 1, column: 1)
private let item = NodeContext.Item(path: "/in/trip/IMG_7.JPG", relativePath: "trip/IMG_7.JPG", index: 4)

/// Evaluates a YAML string value with params `p` = 2.5 and `n` = 3.
private func evaluate(_ text: String) throws -> Value {
    let expression = try Expression.parseString(text, at: here)
    let params: [String: Value] = ["p": .number(2.5), "n": .integer(3), "s": .string("x")]
    return try expression.evaluate({ reference in params[reference.name]! }, item: item)
}

private func type(_ text: String) throws(ExpressionError) -> PortType {
    let types: [String: PortType] = ["p": .number, "n": .integer, "s": .string, "img": .image]
    return try Expression.parseString(text, at: here).inferType { types[$0.name] }
}

@Suite("Expressions and templates")
struct ExpressionTests {
    @Test(
        "Arithmetic follows the usual precedence",
        arguments: [
            ("${1 + 2 * 3}", Value.integer(7)), ("${(1 + 2) * 3}", .integer(9)), ("${7 / 2}", .number(3.5)),
            ("${7 % 4}", .integer(3)), ("${-$n + 1}", .integer(-2)), ("${$p * 2}", .number(5)),
            ("${2.5e1}", .number(25)),
        ])
    func arithmetic(text: String, expected: Value) throws {
        #expect(try evaluate(text) == expected)
    }

    @Test(
        "Comparisons, logic and conditionals",
        arguments: [
            ("${$p > 2 && $n == 3}", Value.bool(true)), ("${!($p >= 3) || false}", .bool(true)),
            ("${$n != 3 ? 'a' : 'b'}", .string("b")), ("${'abc' < 'abd'}", .bool(true)), ("${index <= 4}", .bool(true)),
        ])
    func logic(text: String, expected: Value) throws {
        #expect(try evaluate(text) == expected)
    }

    @Test(
        "Functions",
        arguments: [
            ("${min($p, 1)}", Value.number(1)), ("${max($n, 10)}", .integer(10)), ("${round($p)}", .integer(3)),
            ("${floor($p)}", .integer(2)), ("${ceil(0.1)}", .integer(1)), ("${abs(-$n)}", .integer(3)),
            ("${clamp($p, 0, 1)}", .number(1)), ("${str($n) + 'px'}", .string("3px")),
        ])
    func functions(text: String, expected: Value) throws {
        #expect(try evaluate(text) == expected)
    }

    @Test(
        "Templates join item facts and expressions into text",
        arguments: [
            ("{stem}.png", "IMG_7.png"), ("{relpath}-{index}.{ext}", "trip/IMG_7-4.JPG"),
            ("{reldir}/{name}", "trip/IMG_7.JPG"),
            ("x${$n * 2}_{stem}", "x6_IMG_7"), ("{{literal}}", "{literal}"), ("${$s + $n}", "x3"),
        ])
    func templates(text: String, expected: String) throws {
        #expect(try evaluate(text) == .string(expected))
    }

    @Test("A whole $reference is the referenced value, with its type")
    func references() throws {
        #expect(try evaluate("$p") == .number(2.5))
        #expect(try type("$img") == .image)
        #expect(try type("$p") == .number)
        #expect(try type("${$n + 1}") == .integer)
        #expect(try type("${$n / 1}") == .number)
    }

    @Test(
        "Type errors are found before running",
        arguments: [
            ("${$s * 2}", "'*' needs numbers, not string and integer"),
            ("${$img + 1}", "image values cannot be used inside an expression"),
            ("${$p && true}", "'&&' needs booleans, not number and bool"),
            ("${min('a', 1)}", "min needs numbers, not string"),
            ("${round(1, 2)}", "round takes 1 argument, not 2"),
        ])
    func typeErrors(text: String, message: String) {
        #expect(throws: ExpressionError.self) { try type(text) }
        do { _ = try type(text) } catch { #expect(error.message == message) }
    }

    @Test(
        "Syntax errors point at the offending column",
        arguments: [
            ("${1 +}", "expression ends too early", 6), ("${foo(1)}", "unknown function 'foo'", 3),
            ("${1 2}", "unexpected '2'", 5), ("${stme}", "unknown name 'stme'", 3),
            ("${'a}", "'${' is never closed", 1),
        ])
    func syntaxErrors(text: String, message: String, column: Int) {
        do {
            _ = try Expression.parseString(text, at: here)
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.message == message)
            #expect(error.location.column == column)
        }
    }

    @Test("Division by zero is a run-time error, not a crash")
    func divisionByZero() {
        #expect(throws: NodeError("division by zero")) { try evaluate("${1 / 0}") }
        #expect(throws: NodeError("remainder of division by zero")) { try evaluate("${1 % 0}") }
    }

    @Test(
        "Brace patterns expand",
        arguments: [
            ("*.{jpg,png}", ["*.jpg", "*.png"]), ("a{b,c{d,e}}f", ["abf", "acdf", "acef"]), ("plain", ["plain"]),
        ])
    func braces(pattern: String, expanded: [String]) {
        #expect(expandBraces(pattern) == expanded)
    }
}
