import FuzzDriver
import Logging
import TrackerKit

/// Any request target (announce, scrape, anything): the tracker answers
/// with a reply, never traps; a refused announce is a bencoded failure.
let service = TrackerService(configuration: TrackerConfiguration(), logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(data, count)
    guard let first = bytes.first else { return 0 }
    let prefix = ["/announce?", "/scrape?", "/", "/announce?info_hash="][Int(first) % 4]
    let target = prefix + String(decoding: bytes.dropFirst(), as: UTF8.self)
    let source: IPAddress? = first & 0x80 == 0 ? IPAddress("127.0.0.1") : IPAddress("192.168.1.7")
    let reply = service.handle(target: target, source: source)
    precondition((200...599).contains(reply.status))
    return 0
}

runFuzzer(fuzzOne)
