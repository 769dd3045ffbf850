import Bencode
import Testing

@Suite("Bencode encoding")
struct BencodeEncodingTests {
    @Test func encodesEveryKind() {
        #expect(String(decoding: Bencode.integer(-7).encoded(), as: UTF8.self) == "i-7e")
        #expect(String(decoding: Bencode.string("spam").encoded(), as: UTF8.self) == "4:spam")
        #expect(String(decoding: (["a", 1] as Bencode).encoded(), as: UTF8.self) == "l1:ai1ee")
    }

    @Test func writesDictionaryKeysSortedAsRawBytes() {
        let value: Bencode = ["zeta": 1, "alpha": 2, "Beta": 3, "a": 4]
        #expect(String(decoding: value.encoded(), as: UTF8.self) == "d4:Betai3e1:ai4e5:alphai2e4:zetai1ee")
        let binary = Bencode.dictionary([[0xFF]: 1, [0x01]: 2])
        #expect(binary.encoded() == Array("d1:".utf8) + [0x01] + Array("i2e1:".utf8) + [0xFF] + Array("i1ee".utf8))
    }

    @Test("round trips", arguments: [
        Bencode.integer(0), .integer(.min), .integer(.max), .bytes([]), .bytes(Array(0...255)),
        .list([]), .dictionary([:]),
        ["announce": "http://t/a", "info": ["length": 5, "name": "f", "pieces": .bytes([UInt8](repeating: 9, count: 20))]],
        [[[[1, "deep"]]], ["k": ["n": []]]],
    ])
    func roundTrips(value: Bencode) throws {
        let bytes = value.encoded()
        #expect(try BencodeDecoder().decode(bytes) == value)
        // Canonical: decoding and re-encoding gives the same bytes.
        #expect(try BencodeDecoder().decode(bytes).encoded() == bytes)
    }

    @Test func randomValuesRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let value = Self.randomValue(depth: 0, using: &generator)
            #expect(try BencodeDecoder().decode(value.encoded()) == value)
        }
    }

    private static func randomValue(depth: Int, using generator: inout SystemRandomNumberGenerator) -> Bencode {
        switch Int.random(in: depth > 4 ? 0...1 : 0...3, using: &generator) {
        case 0: return .integer(Int64.random(in: .min ... .max, using: &generator))
        case 1: return .bytes((0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        case 2: return .list((0..<Int.random(in: 0...5, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var dictionary: [[UInt8]: Bencode] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                let key = (0..<Int.random(in: 0...8, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                dictionary[key] = randomValue(depth: depth + 1, using: &generator)
            }
            return .dictionary(dictionary)
        }
    }
}
