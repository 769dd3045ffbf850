import Metainfo
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
@testable import PeerWire

@Suite("Peer wire codec")
struct PeerWireCodecTests {
    /// 10 pieces of 32 KiB; the last is 5000 bytes.
    static let geometry = TorrentGeometry(pieceCount: 10, pieceLength: 32768, totalLength: 9 * 32768 + 5000)
    static let infoHash = InfoHash(bytes: [UInt8](repeating: 0xAB, count: 20))!
    static let handshake = Handshake(infoHash: infoHash, peerID: Array("-MT0100-abcdefghijkl".utf8))

    static func decoder() -> PeerWireDecoder {
        PeerWireDecoder { $0 == infoHash ? geometry : nil }
    }

    static func encoded(_ frames: [PeerWireFrame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { try! PeerWireEncoder().encode(data: frame, out: &buffer) }
        return buffer
    }

    static let everyMessage: [PeerMessage] = {
        var bitfield = Bitfield(count: 10)
        bitfield[0] = true
        bitfield[9] = true
        return [
            .bitfield(bitfield), .keepAlive, .choke, .unchoke, .interested, .notInterested, .have(piece: 9),
            .request(BlockRequest(piece: 3, offset: 16384, length: 16384)),
            .cancel(BlockRequest(piece: 9, offset: 0, length: 5000)),
            .piece(piece: 9, offset: 4000, data: ByteBuffer(bytes: [UInt8](repeating: 7, count: 1000))),
            .piece(piece: 0, offset: 0, data: ByteBuffer(bytes: (0..<16384).map { UInt8(truncatingIfNeeded: $0) })),
            .extended(id: 0, payload: Array("d1:md11:upload_onlyi3eee".utf8)), .extended(id: 3, payload: []),
        ]
    }()

    @Test func everyMessageRoundTripsSplitAtEveryByte() throws {
        // The verifier shuffles inputs on one decoder, so it checks the
        // message framing; the bitfield (first only) is checked below.
        let pairs = Self.everyMessage.dropFirst().map { (Self.encoded([.message($0)]), [PeerWireFrame.message($0)]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            PeerWireDecoder(messagesOf: Self.geometry)
        }
    }

    @Test func handshakeThenBitfieldDecodeSplitAtEveryByte() throws {
        // An extension handshake may come first (libtorrent sends it before its bitfield).
        let frames: [PeerWireFrame] = [.handshake(Self.handshake), .message(.extended(id: 0, payload: Array("de".utf8))),
                                       .message(Self.everyMessage[0]), .message(.unchoke)]
        let bytes = Array(Self.encoded(frames).readableBytesView)
        for split in 0...bytes.count {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(Self.decoder()))
            try channel.writeInbound(ByteBuffer(bytes: bytes[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: bytes[split...]))
            for frame in frames {
                #expect(try channel.readInbound(as: PeerWireFrame.self) == frame, "split at \(split)")
            }
            #expect(try channel.readInbound(as: PeerWireFrame.self) == nil)
            _ = try channel.finish()
        }
    }

    @Test func unknownMessageIDsAreSkipped() throws {
        var bytes = Self.encoded([.handshake(Self.handshake)])
        bytes.writeInteger(UInt32(3))
        bytes.writeBytes([21, 0, 1])  // an id nobody defined (or we did not negotiate)
        var interested = Self.encoded([.message(.interested)])
        bytes.writeBuffer(&interested)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(Self.decoder()))
        try channel.writeInbound(bytes)
        #expect(try channel.readInbound(as: PeerWireFrame.self) == .handshake(Self.handshake))
        #expect(try channel.readInbound(as: PeerWireFrame.self) == .message(.interested))
        _ = try channel.finish()
    }

    /// Feeds bytes after a valid handshake and returns what was thrown.
    private func violation(_ after: [UInt8], handshake: Bool = true) -> PeerWireError? {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(Self.decoder()))
        defer { _ = try? channel.finish() }
        var bytes = handshake ? Self.encoded([.handshake(Self.handshake)]) : ByteBuffer()
        bytes.writeBytes(after)
        do {
            try channel.writeInbound(bytes)
            return nil
        } catch let error as PeerWireError {
            return error
        } catch {
            Issue.record("not a peer wire error: \(error)")
            return nil
        }
    }

    private static func frame(_ id: UInt8, _ fields: [UInt32], extra: [UInt8] = []) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(1 + fields.count * 4 + extra.count))
        buffer.writeInteger(id)
        for field in fields { buffer.writeInteger(field) }
        buffer.writeBytes(extra)
        return Array(buffer.readableBytesView)
    }

    @Test func extensionProtocolBitIsReservedBitTwenty() {
        var handshake = Self.handshake
        handshake.supportsExtensions = true
        #expect(handshake.reserved == [0, 0, 0, 0, 0, 0x10, 0, 0])
        handshake.supportsExtensions = false
        #expect(handshake.reserved == [UInt8](repeating: 0, count: 8))
    }

    @Test func refusesForeignProtocolsAndTorrentsAtOnce() {
        #expect(violation(Array("GET / HTTP/1.1".utf8), handshake: false) == .badProtocol)
        #expect(violation([19] + Array("BitTorrent protocoX".utf8), handshake: false) == .badProtocol)
        var other = Self.handshake
        other.infoHash = InfoHash(bytes: [UInt8](repeating: 1, count: 20))!
        #expect(violation(Array(Self.encoded([.handshake(other)]).readableBytesView), handshake: false) == .unknownInfoHash(other.infoHash))
    }

    @Test func limitsAreEnforcedFromTheHeaderBeforeTheBody() {
        // Only the 4 length bytes arrive: refused without waiting for 1 GiB.
        #expect(violation([0x40, 0, 0, 0]) == .messageTooLong(1 << 30))
        #expect(violation(Self.frame(6, [0, 0, 131_073])) == .requestTooLong(131_073))
        #expect(violation(Self.frame(6, [10, 0, 16384])) == .pieceIndexOutOfRange(10))
        #expect(violation(Self.frame(6, [9, 0, 16384])) == .blockOutOfRange(BlockRequest(piece: 9, offset: 0, length: 16384)))
        #expect(violation(Self.frame(8, [2, 32000, 1000])) == .blockOutOfRange(BlockRequest(piece: 2, offset: 32000, length: 1000)))
        #expect(violation(Self.frame(4, [99])) == .pieceIndexOutOfRange(99))
        #expect(violation(Self.frame(7, [9, 4500], extra: [UInt8](repeating: 0, count: 600)))
                == .blockOutOfRange(BlockRequest(piece: 9, offset: 4500, length: 600)))
        #expect(violation(Self.frame(0, [], extra: [0])) == .malformedMessage(id: 0, length: 2))
        #expect(violation(Self.frame(4, [], extra: [1, 2])) == .malformedMessage(id: 4, length: 3))
        #expect(violation(Self.frame(7, [1, 0])) == .malformedMessage(id: 7, length: 9))
        #expect(violation(Self.frame(20, [])) == .malformedMessage(id: 20, length: 1))
    }

    /// A bitfield must fit the torrent; it is taken whenever it comes, as
    /// real clients send other messages first: the BEP 10 handshake
    /// (libtorrent), `interested` and `have`s (aria2, which our seeder used to
    /// drop), choke states, unknown ids such as a DHT `port`.
    @Test func bitfieldsMustFitButMayComeLate() {
        let bitfield = Self.frame(5, [], extra: [0xFF, 0xC0])
        #expect(violation(Self.frame(5, [], extra: [0xFF])) == .bitfieldInvalid)  // 1 byte for 10 pieces
        #expect(violation(Self.frame(5, [], extra: [0xFF, 0xC1])) == .bitfieldInvalid)  // spare bit set
        #expect(violation(bitfield) == nil)
        let extended = Self.frame(20, [], extra: [0, 0x64, 0x65])  // extension handshake `de`
        let port = Self.frame(9, [], extra: [0x1A, 0xE1])
        #expect(violation(extended + Self.frame(2, []) + Self.frame(4, [1]) + Self.frame(1, []) + port + bitfield) == nil)
        #expect(violation(bitfield + bitfield) == nil)
    }

    @Test func bitfieldCountsAndChecks() {
        var bitfield = Bitfield(count: 10)
        #expect(bitfield.isEmpty && !bitfield.isComplete)
        bitfield[3] = true
        bitfield[3] = true
        bitfield[9] = true
        #expect(bitfield.setCount == 2 && bitfield[3] && bitfield[9] && !bitfield[4])
        #expect(bitfield.bytes == [0x10, 0x40])
        bitfield[3] = false
        #expect(bitfield.setCount == 1)
        let full = Bitfield(count: 10, allSet: true)
        #expect(full.isComplete && full.bytes == [0xFF, 0xC0])
        #expect(Bitfield(bytes: [0xFF, 0xC0], count: 10)?.setCount == 10)
        #expect(Bitfield(bytes: [0xFF, 0xE0], count: 10) == nil)
        #expect(Bitfield(bytes: [0xFF], count: 10) == nil)
    }
}

@Suite("Peer wire writer")
struct PeerWireWriterTests {
    /// A piece leaves as its header then the block's own buffer (no copy);
    /// the bytes are what the encoder would write.
    @Test func piecesGoOutAsHeaderPlusTheSameBlockBuffer() throws {
        let channel = EmbeddedChannel(handler: PeerWireWriter())
        let block = ByteBuffer(bytes: (0..<16384).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let frames: [PeerWireFrame] = [.message(.have(piece: 3)), .message(.piece(piece: 2, offset: 16384, data: block))]
        for frame in frames { try channel.writeOutbound(frame) }
        var written: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written.append(buffer) }
        #expect(written.count == 3)
        #expect(written.last == block)
        written.last?.withUnsafeReadableBytes { sent in
            block.withUnsafeReadableBytes { original in #expect(sent.baseAddress == original.baseAddress) }
        }
        var joined = ByteBuffer()
        for var buffer in written { joined.writeBuffer(&buffer) }
        var expected = ByteBuffer()
        for frame in frames { PeerWireEncoder.write(frame, to: &expected) }
        #expect(joined == expected)
        _ = try channel.finish()
    }
}
