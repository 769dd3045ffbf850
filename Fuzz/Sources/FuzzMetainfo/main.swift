import FuzzDriver
import Metainfo

/// Any bytes as a `.mtorrent`: loading accepts or refuses with an error,
/// never traps; what it accepts has file paths that stay inside the
/// download directory and a layout that adds up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let metainfo = try? Metainfo(bencoded: fuzzInput(data, count)) else { return 0 }
    let info = metainfo.info
    precondition(!info.name.isEmpty && !info.name.contains("/") && info.name != ".." && info.name != ".")
    for file in info.files {
        for component in file.path {
            precondition(!component.isEmpty && !component.contains("/") && component != ".." && component != ".")
        }
        precondition(file.length >= 0)
    }
    precondition(info.files.reduce(Int64(0)) { $0 + $1.length } == info.totalLength)
    precondition(info.pieceCount > 0 || info.totalLength == 0)
    _ = metainfo.encoded()
    return 0
}

runFuzzer(fuzzOne)
