import FuzzDriver
import Metainfo
import NIOCore
import NIOEmbedded
import PeerWire

/// Any bytes from a peer (handshake, then messages): the decoder yields
/// frames or fails the connection with an error, never traps or allocates
/// without bound. The input is fed in two chunks to exercise reassembly.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(data, count)
    let geometry = TorrentGeometry(pieceCount: 40, pieceLength: 32_768, totalLength: 40 * 32_768 - 1000)
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(PeerWireDecoder(resolve: { _ in geometry })))
    defer { _ = try? channel.finish() }
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    for chunk in [bytes[..<split], bytes[split...]] {
        do {
            try channel.writeInbound(channel.allocator.buffer(bytes: chunk))
        } catch {
            return 0  // refused: the connection would be closed
        }
        while let frame = try? channel.readInbound(as: PeerWireFrame.self) {
            _ = frame
        }
    }
    return 0
}

runFuzzer(fuzzOne)
