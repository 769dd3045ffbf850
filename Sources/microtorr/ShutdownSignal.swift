import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM as an async stream, so a command can shut down
/// cleanly (announce `stopped`, flush) instead of dying mid-write.
enum ShutdownSignal {
    /// Installs the handlers once; the stream yields the name of each signal
    /// received. Iteration ends when the awaiting task is cancelled.
    static func stream() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            sources.append(source)
        }
        let installed = SignalSources(sources)
        continuation.onTermination = { _ in installed.cancel() }
        return stream
    }

    /// Waits for the first signal.
    static func wait() async -> String {
        for await name in stream() { return name }
        return "cancelled"
    }
}

/// Keeps the dispatch sources alive as long as the stream.
private final class SignalSources: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(_ sources: [any DispatchSourceSignal]) {
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
