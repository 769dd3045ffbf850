#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// `value` rounded to `decimals` places by the C library (`%.Nf`, so it
    /// rounds as printf does: scaling by hand turned 0.15 into "0.2"), but
    /// never `-0` (a negative value that rounds to zero prints as zero) nor
    /// `-nan` (glibc's for a NaN with its sign set, which 0/0 gives): "nan",
    /// "inf", "-inf".
    public static func fixed(_ value: Double, decimals: Int) -> String {
        if value.isNaN { return "nan" }
        var capacity = 32
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            let count = withVaList([Int32(clamping: decimals), value]) { vsnprintf(&buffer, capacity, "%.*f", $0) }
            guard count >= capacity else {
                let text = String(decoding: buffer.prefix(Int(max(0, count))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                let negativeZero = text.hasPrefix("-") && text.dropFirst().allSatisfy { $0 == "0" || $0 == "." }
                return negativeZero ? String(text.dropFirst()) : text
            }
            capacity = Int(count) + 1
        }
    }

    /// `text` padded with spaces to `width` characters: after it, or before
    /// it with `right` (`%-Ns`, `%Ns`).
    public static func padded(_ text: String, width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
