import CYAML

/// Reads YAML through the system libyaml (event API) into a `YAMLNode`.
/// Only what a configuration needs: one document of mappings, lists and
/// scalars. Anchors/aliases and tags are refused with their position.
public enum YAMLParser {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var mark: YAMLMark
        public var message: String

        public var description: String { "\(mark): \(message)" }
    }

    /// Parses `text`; an empty document is an empty mapping.
    public static func parse(_ text: String) throws(Failure) -> YAMLNode {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw Failure(mark: YAMLMark(line: 1, column: 1), message: "cannot start the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(Failure) -> YAMLNode in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var reader = EventReader(parser: parser)
            defer { parser = reader.parser }
            return try reader.document()
        }
    }

    /// Pulls events one at a time and builds nodes recursively (depth is
    /// bounded: a configuration is never deep).
    private struct EventReader {
        var parser: yaml_parser_t
        static let maxDepth = 32

        enum Event {
            case streamStart, streamEnd, documentStart, documentEnd
            case scalar(String, YAMLMark, plain: Bool)
            case sequenceStart(YAMLMark), sequenceEnd
            case mappingStart(YAMLMark), mappingEnd
            case alias(YAMLMark)
        }

        mutating func next() throws(Failure) -> Event {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                let mark = YAMLMark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
                let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                let context = parser.context.map { " " + String(cString: $0) } ?? ""
                throw Failure(mark: mark, message: problem + context)
            }
            defer { yaml_event_delete(&event) }
            let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_START_EVENT: return .streamStart
            case YAML_STREAM_END_EVENT: return .streamEnd
            case YAML_DOCUMENT_START_EVENT: return .documentStart
            case YAML_DOCUMENT_END_EVENT: return .documentEnd
            case YAML_ALIAS_EVENT: return .alias(mark)
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                if scalar.anchor != nil || (scalar.tag != nil && scalar.plain_implicit == 0 && scalar.quoted_implicit == 0) {
                    throw Failure(mark: mark, message: "anchors and tags are not supported in the configuration")
                }
                let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                return .scalar(text, mark, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE)
            case YAML_SEQUENCE_START_EVENT:
                if event.data.sequence_start.anchor != nil { throw Failure(mark: mark, message: "anchors are not supported in the configuration") }
                return .sequenceStart(mark)
            case YAML_SEQUENCE_END_EVENT: return .sequenceEnd
            case YAML_MAPPING_START_EVENT:
                if event.data.mapping_start.anchor != nil { throw Failure(mark: mark, message: "anchors are not supported in the configuration") }
                return .mappingStart(mark)
            case YAML_MAPPING_END_EVENT: return .mappingEnd
            default: throw Failure(mark: mark, message: "unexpected YAML event")
            }
        }

        mutating func document() throws(Failure) -> YAMLNode {
            guard case .streamStart = try next() else { throw Failure(mark: YAMLMark(line: 1, column: 1), message: "not a YAML stream") }
            switch try next() {
            case .streamEnd:
                return .mapping([], YAMLMark(line: 1, column: 1))
            case .documentStart:
                let root = try node(try next(), depth: 0)
                guard case .documentEnd = try next() else { throw Failure(mark: root.mark, message: "unexpected content after the document") }
                if case .documentStart = try next() {
                    throw Failure(mark: root.mark, message: "only one YAML document is allowed")
                }
                return root
            default:
                throw Failure(mark: YAMLMark(line: 1, column: 1), message: "not a YAML document")
            }
        }

        mutating func node(_ event: Event, depth: Int) throws(Failure) -> YAMLNode {
            switch event {
            case .scalar(let text, let mark, let plain):
                return .scalar(text, mark, plain: plain)
            case .alias(let mark):
                throw Failure(mark: mark, message: "aliases are not supported in the configuration")
            case .sequenceStart(let mark):
                guard depth < Self.maxDepth else { throw Failure(mark: mark, message: "nested too deeply") }
                var items: [YAMLNode] = []
                while true {
                    let item = try next()
                    if case .sequenceEnd = item { return .sequence(items, mark) }
                    items.append(try node(item, depth: depth + 1))
                }
            case .mappingStart(let mark):
                guard depth < Self.maxDepth else { throw Failure(mark: mark, message: "nested too deeply") }
                var entries: [(key: String, keyMark: YAMLMark, value: YAMLNode)] = []
                while true {
                    let keyEvent = try next()
                    if case .mappingEnd = keyEvent { return .mapping(entries, mark) }
                    guard case .scalar(let key, let keyMark, _) = keyEvent else {
                        throw Failure(mark: try node(keyEvent, depth: depth + 1).mark, message: "a key must be a plain name")
                    }
                    if let first = entries.first(where: { $0.key == key }) {
                        throw Failure(mark: keyMark, message: "duplicate key '\(key)' (first at line \(first.keyMark.line))")
                    }
                    entries.append((key, keyMark, try node(try next(), depth: depth + 1)))
                }
            default:
                throw Failure(mark: YAMLMark(line: 1, column: 1), message: "unexpected YAML structure")
            }
        }
    }
}
