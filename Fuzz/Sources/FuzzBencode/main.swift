import Bencode
import FuzzDriver

/// Any bytes: the bencode decoder returns a value or throws, never traps;
/// what it accepts re-encodes (keys sorted: unsorted input is accepted, as
/// real-world torrents have it) no longer than it came, and decodes again to
/// the same value (so re-encoding is canonical: one value, one encoding).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(data, count)
    guard let value = try? BencodeDecoder().decode(bytes) else { return 0 }
    let encoded = value.encoded()
    precondition((try? BencodeDecoder().decode(encoded)) == value, "re-encoded value decodes differently")
    precondition(encoded.count <= bytes.count, "re-encoding grew")
    return 0
}

runFuzzer(fuzzOne)
