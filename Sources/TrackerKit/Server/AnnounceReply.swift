import Bencode
import Metainfo

/// Encodes tracker replies. Built by hand in key order rather than through
/// a `Bencode` dictionary: this runs for every announce.
enum AnnounceReply {
    static func bencoded(_ reply: SwarmRegistry.Reply, request: AnnounceRequest, configuration: TrackerConfiguration) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(96 + reply.peers.count * 8)
        // Keys from static strings: no string built on the heap per reply.
        func key(_ name: StaticString) {
            name.withUTF8Buffer { Bencode.encodeByteString($0, into: &output) }
        }
        func integer(_ name: StaticString, _ value: Int) {
            key(name)
            Bencode.encodeInteger(Int64(value), into: &output)
        }
        /// A byte string's key and length; its bytes follow.
        func byteString(_ name: StaticString, length: Int) {
            key(name)
            Bencode.encodeByteStringLength(length, into: &output)
        }
        output.append(UInt8(ascii: "d"))
        integer("complete", reply.complete)
        integer("incomplete", reply.incomplete)
        integer("interval", configuration.interval)
        integer("min interval", configuration.minInterval)
        if request.compact {
            let v4Count = reply.peers.count(where: { $0.endpoint.ip.isIPv4 })
            byteString("peers", length: v4Count * 6)
            for peer in reply.peers where peer.endpoint.ip.isIPv4 { peer.endpoint.appendCompact(to: &output) }
            if v4Count < reply.peers.count {
                byteString("peers6", length: (reply.peers.count - v4Count) * 18)
                for peer in reply.peers where !peer.endpoint.ip.isIPv4 { peer.endpoint.appendCompact(to: &output) }
            }
        } else {
            key("peers")
            output.append(UInt8(ascii: "l"))
            for peer in reply.peers {
                var entry: Bencode = ["ip": .string(peer.endpoint.ip.description), "port": .integer(Int64(peer.endpoint.port))]
                if !request.noPeerID, case .dictionary(var fields) = entry {
                    fields[Array("peer id".utf8)] = .bytes(peer.id.bytes)
                    entry = .dictionary(fields)
                }
                entry.encode(into: &output)
            }
            output.append(UInt8(ascii: "e"))
        }
        output.append(UInt8(ascii: "e"))
        return output
    }

    /// The original MicroTorr's JSON form, for people and scripts.
    static func json(_ reply: SwarmRegistry.Reply, configuration: TrackerConfiguration) -> [UInt8] {
        let peers = reply.peers.map { peer in
            "{\"ip\":\"\(peer.endpoint.ip)\",\"port\":\(peer.endpoint.port),\"id\":\"\(Hex.encode(peer.id.bytes))\"}"
        }
        return Array(("{\"interval\":\(configuration.interval),\"complete\":\(reply.complete),\"incomplete\":\(reply.incomplete),"
            + "\"peers\":[\(peers.joined(separator: ","))]}").utf8)
    }

    static func failure(_ reason: String) -> [UInt8] {
        (["failure reason": .string(reason)] as Bencode).encoded()
    }

    static func scrape(_ entries: [(InfoHash, SwarmRegistry.ScrapeEntry)]) -> [UInt8] {
        var files: [[UInt8]: Bencode] = [:]
        for (hash, entry) in entries {
            files[hash.bytes] = [
                "complete": .integer(Int64(entry.complete)),
                "downloaded": .integer(Int64(entry.downloaded)),
                "incomplete": .integer(Int64(entry.incomplete)),
            ]
        }
        return (["files": .dictionary(files)] as Bencode).encoded()
    }
}
