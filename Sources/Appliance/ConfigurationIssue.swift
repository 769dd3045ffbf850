/// One problem in a configuration file, where it is.
public struct ConfigurationIssue: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var mark: YAMLMark
    public var message: String

    public init(file: String, mark: YAMLMark, message: String) {
        self.file = file
        self.mark = mark
        self.message = message
    }

    /// `FILE:LINE:COLUMN: message`, as compilers print it.
    public var description: String { "\(file):\(mark.line):\(mark.column): \(message)" }
}
