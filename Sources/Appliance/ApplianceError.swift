/// A failure of the appliance said in words (setup problems, refused
/// inbox files), logged or written to a `.error` file as is.
public struct ApplianceError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
