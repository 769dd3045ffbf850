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
        #expect(parsed.maxQueuedRequests == 500)
        // We say how many requests we queue, so Transmission does not send
        // thousands and wait forever for the ones past our queue.
        let limited = ExtensionHandshake(uploadOnly: false, client: nil, maxQueuedRequests: 512)
        #expect(String(decoding: limited.encoded(), as: UTF8.self) == "d1:mde4:reqqi512ee")
        #expect(ExtensionHandshake(payload: limited.encoded()) == limited)
        #expect(ExtensionHandshake(payload: Array("d4:reqqi-5ee".utf8))?.maxQueuedRequests == nil)
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
