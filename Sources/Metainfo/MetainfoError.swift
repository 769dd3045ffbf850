import Bencode

/// Why a metainfo file was refused. Every case names the field (as a path
/// such as `info.files[2].path[0]`) or the byte offset, so the user knows
/// what to fix.
public enum MetainfoError: Error, Hashable, Sendable, CustomStringConvertible {
    case bencode(BencodeError)
    case missingField(String)
    case wrongType(field: String, expected: String)
    case invalidField(field: String, reason: String)

    public var description: String {
        switch self {
        case .bencode(let error): return error.description
        case .missingField(let field): return "missing field '\(field)'"
        case .wrongType(let field, let expected): return "field '\(field)' must be \(expected)"
        case .invalidField(let field, let reason): return "field '\(field)' \(reason)"
        }
    }
}
