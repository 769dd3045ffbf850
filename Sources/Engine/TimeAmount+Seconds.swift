import NIOCore

extension TimeAmount {
    /// A span given in seconds as the session keeps time (`Double`, from
    /// its clock and configuration); NIO's own `.seconds` takes whole ones.
    static func seconds(fractional seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(seconds * 1e9))
    }
}
