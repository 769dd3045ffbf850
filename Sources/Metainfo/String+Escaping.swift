extension String {
    /// The string with control characters shown as `\u{1B}` escapes, for
    /// text that came from a torrent and goes to a terminal or a log: a name
    /// must not be able to move the cursor, retitle the terminal or split
    /// one error line into two.
    public var escapingControlCharacters: String {
        var output = ""
        output.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F:
                output += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
