import Foundation
import TestSupport

/// Sends raw bytes to a local TCP port and reads until the peer closes or
/// `timeout` passes: lets tests speak broken or pipelined HTTP.
enum RawHTTP {
    static func exchange(port: Int, send: [UInt8], timeout: TimeInterval = 5) throws -> (response: String, closedByServer: Bool) {
        guard let fd = BackgroundProcess.connectLoopback(port: port) else { throw POSIXError(.ECONNREFUSED) }
        defer { close(fd) }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = send.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let count = read(fd, &buffer, buffer.count)
            if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if count > 0 { received += buffer[0..<count] }
            // A reset (the server closed with our unread bytes pending) is a close too.
            if count < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                return (String(decoding: received, as: UTF8.self), true)
            }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}
