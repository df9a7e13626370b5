/// A place in a workflow file: 1-based line and column (columns count Unicode scalars, as
/// YAML parsers do).
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a workflow, reported like a compiler does.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    /// Stable identifier, for scripts and tests (`unknown_port`, `type_mismatch`, …).
    public let code: String
    public let severity: Severity
    public let message: String
    /// Where the problem is; nil for problems outside the file (a `--set` on the command line).
    public let location: SourcePosition?
    /// How to fix it, when there is something specific to say.
    public let help: String?
    /// Where a sub-workflow holding the problem is used, innermost first: the file to fix is
    /// `location`'s, the way to it these.
    public var usedFrom: [SourcePosition] = []

    public init(
        _ code: String, _ message: String, at location: SourcePosition?, help: String? = nil,
        severity: Severity = .error
    ) {
        self.code = code
        self.severity = severity
        self.message = message
        self.location = location
        self.help = help
    }

    /// This diagnostic, found in a sub-workflow used at `site`.
    public func used(from site: SourcePosition) -> Diagnostic {
        var copy = self
        copy.usedFrom.append(site)
        return copy
    }

    /// `file:line:col: error: message`.
    public var description: String {
        "\(location.map { "\($0)" } ?? "deltaflow"): \(severity.rawValue): \(message)"
    }

    /// The text of the file this points into, from `sources` (each file a run read, by name),
    /// else `source`: what ``rendered(source:)`` needs for its caret line.
    public func source(in sources: [String: String], default source: String?) -> String? {
        location.flatMap { sources[$0.file] } ?? source
    }

    /// The compiler-style form: the headline, the source line with a caret under the column,
    /// and the help line.
    public func rendered(source: String?) -> String {
        var lines = [description]
        if let location, let source {
            let sourceLines = source.sourceLines
            if location.line >= 1 && location.line <= sourceLines.count {
                var scalars = Array(sourceLines[location.line - 1].unicodeScalars)
                var column = max(0, location.column - 1)
                // A long line (a minified or hostile file) is shown as a window around the caret.
                let width = 120
                if scalars.count > width {
                    let start = min(max(0, column - width / 2), scalars.count - width)
                    let head: [Unicode.Scalar] = start > 0 ? ["…"] : []
                    let tail: [Unicode.Scalar] = start + width < scalars.count ? ["…"] : []
                    scalars = head + scalars[start..<(start + width)] + tail
                    column = column - start + head.count
                }
                let text = String(String.UnicodeScalarView(scalars))
                let number = String(location.line)
                let gutter = String(repeating: " ", count: number.count)
                // Tabs stay tabs under the caret so it lines up in any terminal.
                let lead = scalars.prefix(column).map { $0 == "\t" ? "\t" : " " }
                lines.append(" \(number) | \(text)")
                lines.append(" \(gutter) | \(lead.joined())^")
            }
        }
        for site in usedFrom { lines.append("  note: used from \(site)") }
        if let help { lines.append("  help: \(help)") }
        return lines.joined(separator: "\n")
    }
}

/// A failed validation: every diagnostic found in one pass.
public struct ValidationFailure: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    public let source: String?
    /// The text of every other file a diagnostic points into (sub-workflows), by file name.
    public let sources: [String: String]

    public init(_ diagnostics: [Diagnostic], source: String?, sources: [String: String] = [:]) {
        self.diagnostics = diagnostics
        self.source = source
        self.sources = sources
    }

    /// The text of the file `diagnostic` points into, for its caret line.
    public func source(of diagnostic: Diagnostic) -> String? {
        diagnostic.source(in: sources, default: source)
    }

    public var description: String {
        let errors = diagnostics.filter { $0.severity == .error }.count
        return diagnostics.map { $0.rendered(source: source(of: $0)) }.joined(separator: "\n\n")
            + "\n\n\(errors) error\(errors == 1 ? "" : "s")"
    }
}

extension StringProtocol {
    /// The text's lines as YAML counts them (libyaml's line breaks: LF, CR, CR LF, NEL, LS, PS),
    /// so line numbers from the parser index them — also in files saved with Windows line ends,
    /// where CR LF is one `Character` and splitting on "\n" finds nothing.
    public var sourceLines: [SubSequence] {
        split(omittingEmptySubsequences: false) { character in
            switch character {
            case "\n", "\r\n", "\r", "\u{85}", "\u{2028}", "\u{2029}": true
            default: false
            }
        }
    }
}
