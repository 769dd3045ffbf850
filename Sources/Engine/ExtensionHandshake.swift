import Bencode
import Metainfo

/// The BEP 10 extension handshake, for what it tells about the sender:
/// `upload_only` (BEP 21) marks a peer that only uploads — a seeder, even a
/// super-seeding one whose `have` messages show only a few pieces — `v`
/// names its client, and `reqq` says how many requests it queues without
/// dropping any (Transmission keeps seconds' worth of requests in flight
/// unless told). We offer no extension messages (`m` is empty).
struct ExtensionHandshake: Equatable {
    var uploadOnly: Bool
    var client: String?
    /// `reqq`: most requests the sender holds queued.
    var maxQueuedRequests: Int?

    func encoded() -> [UInt8] {
        var dictionary: [[UInt8]: Bencode] = [Array("m".utf8): .dictionary([:])]
        if uploadOnly { dictionary[Array("upload_only".utf8)] = .integer(1) }
        if let client { dictionary[Array("v".utf8)] = .string(client) }
        if let maxQueuedRequests { dictionary[Array("reqq".utf8)] = .integer(Int64(maxQueuedRequests)) }
        return Bencode.dictionary(dictionary).encoded()
    }

    /// Nil when the payload is not a bencoded dictionary; unknown keys are
    /// ignored. Small limits: this is untrusted input of at most 16 KiB.
    init?(payload: [UInt8]) {
        let decoder = BencodeDecoder(limits: .init(maxDepth: 8, maxStringLength: 4096, maxValues: 1024))
        guard let value = try? decoder.decode(payload), value.dictionaryValue != nil else { return nil }
        uploadOnly = (value["upload_only"]?.integerValue ?? 0) != 0
        client = value["v"]?.stringValue
        maxQueuedRequests = value["reqq"]?.integerValue.flatMap { $0 > 0 ? Int(clamping: $0) : nil }
    }

    init(uploadOnly: Bool, client: String? = "MicroTorr \(MicroTorrVersion.string)", maxQueuedRequests: Int? = nil) {
        self.uploadOnly = uploadOnly
        self.client = client
        self.maxQueuedRequests = maxQueuedRequests
    }
}
