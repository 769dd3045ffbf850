import Testing
@testable import Engine

@Suite("Extension handshake")
struct ExtensionHandshakeTests {
    @Test func uploadOnlyRoundTripsAndOtherKeysAreIgnored() throws {
        let ours = ExtensionHandshake(uploadOnly: true, client: "MicroTorr 0.1.0")
        #expect(String(decoding: ours.encoded(), as: UTF8.self) == "d1:mde11:upload_onlyi1e1:v15:MicroTorr 0.1.0e")
        #expect(ExtensionHandshake(payload: ours.encoded()) == ours)
        // libtorrent's form: extension ids in `m`, binary `yourip`, and more.
        let theirs = Array("d1:md11:ut_metadatai2e6:ut_pexi1ee4:reqqi500e11:upload_onlyi1e1:v14:libtorrent 2.06:yourip4:\u{7f}\0\0\u{1}e".utf8)
        let parsed = try #require(ExtensionHandshake(payload: theirs))
        #expect(parsed.uploadOnly && parsed.client == "libtorrent 2.0")
        #expect(ExtensionHandshake(payload: Array("d1:md11:upload_onlyi0eee".utf8))?.uploadOnly == false)
    }

    @Test func garbageIsRefused() {
        #expect(ExtensionHandshake(payload: Array("li1ee".utf8)) == nil)
        #expect(ExtensionHandshake(payload: Array("d1:m".utf8)) == nil)
        #expect(ExtensionHandshake(payload: []) == nil)
        // Deep nesting stays within the small limits.
        #expect(ExtensionHandshake(payload: Array(("d1:x" + String(repeating: "l", count: 100) + String(repeating: "e", count: 101)).utf8)) == nil)
    }
}
