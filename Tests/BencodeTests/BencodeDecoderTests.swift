import Bencode
import Testing

@Suite("Bencode decoding")
struct BencodeDecoderTests {
    private func decode(_ text: String) throws -> Bencode {
        try BencodeDecoder().decode(Array(text.utf8))
    }

    private func rejection(_ text: String, limits: BencodeDecoder.Limits = .init()) -> BencodeError? {
        do {
            _ = try BencodeDecoder(limits: limits).decode(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func decodesEveryKind() throws {
        #expect(try decode("i42e") == .integer(42))
        #expect(try decode("i-42e") == .integer(-42))
        #expect(try decode("i0e") == .integer(0))
        #expect(try decode("4:spam") == .string("spam"))
        #expect(try decode("0:") == .bytes([]))
        #expect(try decode("l4:spami7ee") == ["spam", 7])
        #expect(try decode("d3:cow3:moo4:spaml1:a1:bee") == ["cow": "moo", "spam": ["a", "b"]])
        #expect(try decode("le") == .list([]))
        #expect(try decode("de") == .dictionary([:]))
    }

    @Test func decodesIntegerExtremes() throws {
        #expect(try decode("i9223372036854775807e") == .integer(.max))
        #expect(try decode("i-9223372036854775808e") == .integer(.min))
    }

    @Test func keepsBinaryStringsAsBytes() throws {
        let input: [UInt8] = Array("3:".utf8) + [0xFF, 0x00, 0x80]
        #expect(try BencodeDecoder().decode(input) == .bytes([0xFF, 0x00, 0x80]))
    }

    @Test("each rejection carries the offset of the offending byte", arguments: [
        ("i03e", 1, BencodeError.Reason.leadingZero),
        ("i-0e", 1, .negativeZero),
        ("i-03e", 2, .leadingZero),
        ("ie", 1, .emptyInteger),
        ("i12", 3, .unexpectedEnd),
        ("i1x2e", 2, .unexpectedByte(UInt8(ascii: "x"))),
        ("i9223372036854775808e", 1, .integerOverflow),
        ("03:abc", 0, .leadingZero),
        ("5:abc", 0, .stringBeyondEnd(declared: 5, available: 3)),
        ("l4:spam", 7, .unexpectedEnd),
        ("d3:fooi1e", 9, .unexpectedEnd),
        ("di1ei2ee", 1, .nonStringKey),
        ("d1:ai1e1:ai2ee", 7, .duplicateKey(Array("a".utf8))),
        ("i1ei2e", 3, .trailingBytes),
        ("x", 0, .unexpectedByte(UInt8(ascii: "x"))),
        ("", 0, .unexpectedEnd),
    ])
    func rejectsWithOffset(input: String, offset: Int, reason: BencodeError.Reason) {
        #expect(rejection(input) == BencodeError(offset: offset, reason: reason))
    }

    @Test func errorMessageNamesTheOffset() {
        #expect(rejection("i03e")?.description == "invalid bencode at byte 1: leading zero in a number")
    }

    /// A 30-byte input must not be able to ask for gigabytes.
    @Test func hugeDeclaredLengthIsRefusedBeforeAllocating() {
        let hostile = "d4:info99999999999999:xxxxxxe"
        #expect(hostile.utf8.count <= 30)
        #expect(rejection(hostile)?.reason == .stringTooLong(declared: 99_999_999_999_999, limit: 128 << 20))
        #expect(rejection("4294967296:x")?.reason == .stringTooLong(declared: 4_294_967_296, limit: 128 << 20))
        #expect(rejection("99999999999999999999999:x")?.reason == .stringLengthOverflow)
        // Under the limit but beyond the input: still refused before copying.
        #expect(rejection("100000:x")?.reason == .stringBeyondEnd(declared: 100_000, available: 1))
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "l", count: 100_000) + String(repeating: "e", count: 100_000)
        #expect(rejection(deep)?.reason == .nestingTooDeep(limit: 64))
        let fine = String(repeating: "l", count: 64) + String(repeating: "e", count: 64)
        #expect(rejection(fine) == nil)
        #expect(rejection(fine, limits: .init(maxDepth: 10))?.offset == 10)
    }

    @Test func nodesKnowTheirExactByteRanges() throws {
        // Deliberately non-canonical (unsorted keys): the range must cover the
        // bytes as written, not a re-encoding.
        let text = "d4:infod1:bi1e1:ai2ee3:zzz0:e"
        let bytes = Array(text.utf8)
        let node = try BencodeDecoder().decodeNode(bytes)
        let info = try #require(node["info"])
        #expect(String(decoding: bytes[info.range], as: UTF8.self) == "d1:bi1e1:ai2ee")
        #expect(info.value.encoded() != Array(bytes[info.range]))
        #expect(node.range == 0..<bytes.count)
        let b = try #require(info["b"])
        #expect(String(decoding: bytes[b.range], as: UTF8.self) == "i1e")
    }
}
