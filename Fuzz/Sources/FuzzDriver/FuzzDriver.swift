/// Hands the process to libFuzzer's driver with `body` as the target
/// (SwiftPM makes an executable's top-level code `main`, so libFuzzer's own
/// `main` is not the one that runs). Never returns.
public typealias FuzzBody = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>,
                       _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: FuzzBody) -> CInt

@_silgen_name("exit")
private func exitProcess(_ status: CInt) -> Never

public func runFuzzer(_ body: FuzzBody) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exitProcess(runDriver(&argc, &argv, body))
}

/// The input as bytes.
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
    count == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: count))
}
