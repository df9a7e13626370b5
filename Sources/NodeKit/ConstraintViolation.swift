import Spelling

/// How a value breaks the range or the choices declared for an input or a param. The
/// validator, `--set` and the executor all check with this, and word the context themselves.
public enum ConstraintViolation: Sendable, Equatable {
    case outOfRange(ClosedRange<Double>, Double)
    case notInList([String], String)

    /// The violation of `value`, if any.
    public static func check(_ value: Value, range: ClosedRange<Double>?, choices: [String]?) -> ConstraintViolation? {
        if let range, let number = value.numericValue, !range.contains(number) { return .outOfRange(range, number) }
        if let choices {
            switch value {
            case .string(let text), .path(let text):
                if !choices.contains(text) { return .notInList(choices, text) }
            default: break
            }
        }
        return nil
    }

    /// "must be between 0 and 2", "must be one of fast, best".
    public var requirement: String {
        switch self {
        case .outOfRange(let range, _): "must be \(describe(range))"
        case .notInList(let choices, _): "must be one of \(choices.joined(separator: ", "))"
        }
    }

    /// "not 3", "not 'bets'".
    public var found: String {
        switch self {
        case .outOfRange(_, let number): "not \(formatNumber(number))"
        case .notInList(_, let text): "not '\(text)'"
        }
    }

    /// A close choice, for a "did you mean" help line.
    public var suggestion: String? {
        guard case .notInList(let choices, let text) = self else { return nil }
        return closestMatch(to: text, in: choices)
    }

    /// The diagnostic code naming this kind of violation.
    public var code: String {
        switch self {
        case .outOfRange: "value_out_of_range"
        case .notInList: "value_not_in_list"
        }
    }
}

extension Value {
    /// The value as a Double when it is a number or an integer.
    public var numericValue: Double? {
        switch self {
        case .number(let n): n
        case .integer(let i): Double(i)
        default: nil
        }
    }
}

/// "between 0 and 2", "at least 1", "at most 10".
public func describe(_ range: ClosedRange<Double>) -> String {
    switch (range.lowerBound.isFinite, range.upperBound.isFinite) {
    case (true, true): "between \(formatNumber(range.lowerBound)) and \(formatNumber(range.upperBound))"
    case (true, false): "at least \(formatNumber(range.lowerBound))"
    case (false, true): "at most \(formatNumber(range.upperBound))"
    default: "any number"
    }
}
