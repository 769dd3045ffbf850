/// Number formatting without Foundation's `String(format:)`, which would
/// link Foundation and its ICU data: about 6 MiB of every process's memory.
public enum NumberText {
    /// `value` in decimal, zero-padded to `width` digits (`%0Nd`).
    public static func zeroPadded(_ value: Int, width: Int) -> String {
        let digits = String(value.magnitude)
        let padding = String(repeating: "0", count: max(0, width - digits.count - (value < 0 ? 1 : 0)))
        return (value < 0 ? "-" : "") + padding + digits
    }

    /// `value` in lowercase hexadecimal, zero-padded to `width` (`%0Nx`).
    public static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `value` rounded to `decimals` places (`%.Nf`, but never `-0`, and
    /// an exact binary half, such as 0.125 to two places, goes away from
    /// zero where printf goes to even); not-finite values as `inf`/`nan`.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value.magnitude * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let negative = value < 0 && units > 0
        var text = (negative ? "-" : "") + String(whole)
        if decimals > 0 {
            let fraction = String(units % UInt64(scale))
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    /// `text` padded with spaces to `width` characters: after it, or before
    /// it with `right` (`%-Ns`, `%Ns`).
    public static func padded(_ text: String, width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
