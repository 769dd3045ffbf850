/// A position in a YAML file, 1-based (libyaml's marks are 0-based).
public struct YAMLMark: Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A YAML document as a tree that remembers where each value was written,
/// so configuration errors can name the line and column.
public indirect enum YAMLNode: Sendable {
    case scalar(String, YAMLMark, plain: Bool)
    case sequence([YAMLNode], YAMLMark)
    /// Keys in file order (duplicates are refused while parsing).
    case mapping([(key: String, keyMark: YAMLMark, value: YAMLNode)], YAMLMark)

    public var mark: YAMLMark {
        switch self {
        case .scalar(_, let mark, _), .sequence(_, let mark), .mapping(_, let mark): return mark
        }
    }

    /// What kind of value this is, for error messages.
    public var kind: String {
        switch self {
        case .scalar: return "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// A plain `null`, `~` or empty scalar.
    public var isNull: Bool {
        if case .scalar(let text, _, plain: true) = self { return ["", "~", "null", "Null", "NULL"].contains(text) }
        return false
    }
}
