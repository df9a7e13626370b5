import ImageCodecs

/// The type of a value flowing along an edge of a workflow graph.
public enum PortType: String, Sendable, CaseIterable, CustomStringConvertible {
    case image
    /// A single-channel image in [0, 1] saying how much of an edit applies where.
    case mask
    case number
    case integer
    case string
    case path
    case bool
    /// An exemplar pair's edit, as the models see it (``Delta``).
    case delta
    /// A list of strings: a command line's arguments, written as a YAML list.
    case strings
    /// Several images in order: the befores, or the afters, of several exemplar pairs. One
    /// image is a list of one.
    case images

    public var description: String { rawValue }

    /// Whether a value of type `source` may feed an input of this type. Integers widen to
    /// numbers, and strings and paths are interchangeable; nothing else converts implicitly.
    public func accepts(_ source: PortType) -> Bool {
        if source == self { return true }
        switch (source, self) {
        case (.integer, .number), (.string, .path), (.path, .string), (.image, .images): return true
        default: return false
        }
    }
}

/// A value flowing along an edge.
public enum Value: Sendable, Equatable, CustomStringConvertible {
    case image(Image)
    case mask(Image)
    case number(Double)
    case integer(Int)
    case string(String)
    case path(String)
    case bool(Bool)
    case delta(Delta)
    case strings([String])
    case images([Image])

    public var type: PortType {
        switch self {
        case .image: .image
        case .mask: .mask
        case .number: .number
        case .integer: .integer
        case .string: .string
        case .path: .path
        case .bool: .bool
        case .delta: .delta
        case .strings: .strings
        case .images: .images
        }
    }

    /// This value as `type`, applying the conversions `PortType.accepts` allows.
    public func coerced(to target: PortType) -> Value? {
        switch (self, target) {
        case (_, _) where type == target: self
        case (.integer(let i), .number): .number(Double(i))
        case (.string(let s), .path): .path(s)
        case (.path(let p), .string): .string(p)
        case (.image(let i), .images): .images([i])
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .image(let i): "image \(i.width)x\(i.height) \(i.colorModel)"
        case .mask(let m): "mask \(m.width)x\(m.height)"
        case .number(let n): formatNumber(n)
        case .integer(let i): String(i)
        case .string(let s): "'\(s)'"
        case .path(let p): "'\(p)'"
        case .bool(let b): String(b)
        case .delta(let d): d.description
        case .strings(let list): "[" + list.map { "'\($0)'" }.joined(separator: ", ") + "]"
        case .images(let list): "\(list.count) \(list.count == 1 ? "image" : "images")"
        }
    }
}

/// A number as a person writes it: "2" rather than "2.0".
public func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return String(value)
}
