import Foundation
import NodeKit
import Spelling

extension Workflow {
    /// One line per param — name, type, default (or "required"), limits, doc — in columns, as
    /// `validate` and `run FILE --help` print them.
    public var paramsListing: [String] {
        let rows = params.map { param -> [String] in
            var limits: [String] = []
            if let range = param.range {
                limits.append("\(formatNumber(range.lowerBound))…\(formatNumber(range.upperBound))")
            }
            if let choices = param.choices { limits.append("one of " + choices.joined(separator: ", ")) }
            let value = param.defaultValue.map { "default \($0.text)" } ?? "required"
            return [param.name, param.typeName, value, limits.joined(separator: "; "), param.doc ?? ""]
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            let padded = (0..<4).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            let line = "  " + padded.joined(separator: "  ") + "  " + row[4]
            return String(line.reversed().drop { $0 == " " }.reversed())
        }
    }

    /// The value of every param: `--set` overrides (`name=value` text), else the default.
    /// Reports every problem at once: undeclared names, unparsable values, missing values.
    public func bindParams(_ overrides: [String]) throws(ValidationFailure) -> [String: Value] {
        var diagnostics: [Diagnostic] = []
        var values: [String: Value] = [:]
        let byName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                diagnostics.append(Diagnostic("bad_set", "--set \(override): expected NAME=VALUE", at: nil))
                continue
            }
            let name = String(override[..<equals])
            let text = String(override[override.index(after: equals)...])
            guard let param = byName[name] else {
                let help =
                    closestMatch(to: name, in: byName.keys).map { "did you mean '\($0)'?" }
                    ?? (params.isEmpty
                        ? "this workflow declares no params"
                        : "its params are \(params.map(\.name).joined(separator: ", "))")
                diagnostics.append(
                    Diagnostic(
                        "undeclared_param", "--set \(override): the workflow has no param '\(name)'",
                        at: nil, help: help))
                continue
            }
            guard let value = Self.parse(text, as: param.type) else {
                diagnostics.append(
                    Diagnostic(
                        "bad_set",
                        "--set \(override): '\(text)' is not \(param.type == .integer ? "an integer" : "a \(param.typeName)")",
                        at: nil, help: param.type == .bool ? "write true or false" : nil))
                continue
            }
            if let violation = ConstraintViolation.check(value, range: param.range, choices: param.choices) {
                diagnostics.append(
                    Diagnostic(
                        violation.code, "--set \(override): '\(name)' \(violation.requirement)",
                        at: nil, help: violation.suggestion.map { "did you mean '\($0)'?" }))
                continue
            }
            values[name] = value
        }
        for param in params where values[param.name] == nil {
            if Workflow.graphParamTypes.contains(param.type) {
                diagnostics.append(
                    Diagnostic(
                        "sub_workflow_only",
                        "param '\(param.name)' is \(param.type == .image ? "an" : "a") \(param.type), which only a workflow using this one as a node can give",
                        at: param.location,
                        help:
                            "use this file as a node of another workflow: {workflow: \(URL(fileURLWithPath: file).lastPathComponent), \(param.name): $node.\(param.type == .image ? "image" : "port")}"
                    ))
                continue
            }
            if let value = param.defaultValue {
                values[param.name] = value
            } else if !diagnostics.contains(where: { $0.message.hasPrefix("--set \(param.name)=") }) {
                diagnostics.append(
                    Diagnostic(
                        "missing_param", "param '\(param.name)' has no value", at: param.location,
                        help: "pass --set \(param.name)=… (\(param.typeName)\(param.doc.map { ": \($0)" } ?? ""))"))
            }
        }
        if !diagnostics.isEmpty { throw ValidationFailure(diagnostics, source: source) }
        return values
    }

    static func parse(_ text: String, as type: PortType) -> Value? {
        switch type {
        case .number: Double(text).map(Value.number)
        case .integer: Int(text).map(Value.integer)
        case .bool: text == "true" ? .bool(true) : text == "false" ? .bool(false) : nil
        case .path: .path(text)
        case .string: .string(text)
        case .image, .mask, .delta, .strings, .images: nil
        }
    }
}

/// One param of a sweep and the values it takes, in order.
public struct SweepAxis: Sendable {
    public let name: String
    public let values: [Value]
    let location: SourcePosition?
}

extension Workflow {
    /// The sweep of a run: the file's `sweep:`, with `--sweep NAME=V1,V2` replacing or adding
    /// axes, and `--set NAME=V` fixing a param the file sweeps. Values are typed and checked
    /// like `--set`'s; a param both set and swept on the command line is refused.
    public func bindSweep(_ overrides: [String], set: [String]) throws(ValidationFailure) -> [SweepAxis] {
        var axes = sweep.filter { axis in !set.contains { $0.hasPrefix(axis.name + "=") } }
        var diagnostics: [Diagnostic] = []
        let byName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for override in overrides {
            guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
                diagnostics.append(
                    Diagnostic(
                        "bad_sweep", "--sweep \(override): expected NAME=VALUE,VALUE,…", at: nil,
                        help: "e.g. --sweep strength=0.5,1,1.5"))
                continue
            }
            let name = String(override[..<equals])
            guard let param = byName[name] else {
                diagnostics.append(
                    Diagnostic(
                        "undeclared_param", "--sweep \(override): the workflow has no param '\(name)'", at: nil,
                        help: closestMatch(to: name, in: byName.keys).map { "did you mean '\($0)'?" }
                            ?? "its params are \(params.map(\.name).joined(separator: ", "))"))
                continue
            }
            let texts = override[override.index(after: equals)...].split(
                separator: ",", omittingEmptySubsequences: false)
            var values: [Value] = []
            for text in texts.map(String.init) {
                guard let value = Self.parse(text, as: param.type) else {
                    diagnostics.append(
                        Diagnostic(
                            "bad_sweep",
                            "--sweep \(override): '\(text)' is not \(param.type == .integer ? "an integer" : "a \(param.typeName)")",
                            at: nil))
                    continue
                }
                if let violation = ConstraintViolation.check(value, range: param.range, choices: param.choices) {
                    diagnostics.append(
                        Diagnostic(
                            violation.code,
                            "--sweep \(override): '\(name)' \(violation.requirement), \(violation.found)",
                            at: nil, help: violation.suggestion.map { "did you mean '\($0)'?" }))
                    continue
                }
                values.append(value)
            }
            if Set(values.map(\.text)).count < values.count {
                diagnostics.append(
                    Diagnostic(
                        "bad_sweep", "--sweep \(override): a value is given twice", at: nil,
                        help: "each value runs once; give each once"))
            }
            axes.removeAll { $0.name == name }
            axes.append(SweepAxis(name: name, values: values, location: nil))
        }
        for axis in axes where set.contains(where: { $0.hasPrefix(axis.name + "=") }) {
            diagnostics.append(
                Diagnostic(
                    "set_and_swept", "param '\(axis.name)' is both set (--set) and swept", at: axis.location,
                    help: "give it one value with --set, or several with the sweep"))
        }
        if !diagnostics.isEmpty { throw ValidationFailure(diagnostics, source: source) }
        return axes
    }
}
