#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address held by value (no strings on the hot path).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The four bytes in network order, packed big-endian.
    case v4(UInt32)
    /// The sixteen bytes in network order, as two big-endian halves.
    case v6(UInt64, UInt64)

    /// Parses dotted IPv4 or textual IPv6. IPv4-mapped IPv6 addresses
    /// (`::ffff:a.b.c.d`) become IPv4, so one peer has one identity.
    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v4) { Array($0) })
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
        } else {
            return nil
        }
    }

    /// From 4 or 16 network-order bytes.
    public init?(bytes: [UInt8]) {
        func pack(_ slice: ArraySlice<UInt8>) -> UInt64 { slice.reduce(0) { $0 << 8 | UInt64($1) } }
        switch bytes.count {
        case 4:
            self = .v4(UInt32(pack(bytes[0..<4])))
        case 16:
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                self = .v4(UInt32(pack(bytes[12..<16])))
            } else {
                self = .v6(pack(bytes[0..<8]), pack(bytes[8..<16]))
            }
        default:
            return nil
        }
    }

    /// Network-order bytes: 4 for IPv4, 16 for IPv6 (the compact forms).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
        case .v6(let high, let low):
            return stride(from: 56, through: 0, by: -8).map { UInt8(truncatingIfNeeded: high >> UInt64($0)) }
                + stride(from: 56, through: 0, by: -8).map { UInt8(truncatingIfNeeded: low >> UInt64($0)) }
        }
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }

    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// Loopback or private-range (RFC 1918, RFC 4193, link-local): the only
    /// addresses a tracker lets a peer claim with `ip=`, and only when it
    /// connects from such an address itself.
    public var isLoopbackOrPrivate: Bool {
        switch self {
        case .v4(let value):
            let a = value >> 24
            let b = (value >> 16) & 0xFF
            return a == 127 || a == 10 || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
                || (a == 169 && b == 254)
        case .v6(let high, let low):
            if high == 0 && low == 1 { return true }  // ::1
            let first = high >> 48
            return first & 0xFE00 == 0xFC00 || first & 0xFFC0 == 0xFE80  // fc00::/7, fe80::/10
        }
    }

    public var description: String {
        var raw = bytes
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        _ = inet_ntop(family, &raw, &text, socklen_t(text.count))
        return String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Where a peer listens.
public struct PeerEndpoint: Hashable, Sendable, CustomStringConvertible {
    public let ip: IPAddress
    public let port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// `1.2.3.4:6881` or `[::1]:6881`.
    public var description: String { HostPort.format(host: ip.description, port: Int(port)) }

    /// Parses `HOST:PORT` with a numeric host (`[v6]:port` for IPv6).
    public init?(_ text: String) {
        guard let (host, port) = HostPort.parse(text), let port, let port16 = UInt16(exactly: port),
              let ip = IPAddress(host) else { return nil }
        self.init(ip: ip, port: port16)
    }

    /// The compact form: address bytes then the port, big-endian (BEP 23/7).
    public var compactBytes: [UInt8] {
        var bytes: [UInt8] = []
        appendCompact(to: &bytes)
        return bytes
    }

    /// Appends the compact form without intermediate arrays (this runs for
    /// every peer of every announce reply).
    public func appendCompact(to output: inout [UInt8]) {
        switch ip {
        case .v4(let value):
            output.append(UInt8(truncatingIfNeeded: value >> 24))
            output.append(UInt8(truncatingIfNeeded: value >> 16))
            output.append(UInt8(truncatingIfNeeded: value >> 8))
            output.append(UInt8(truncatingIfNeeded: value))
        case .v6(let high, let low):
            for half in [high, low] {
                for shift in stride(from: 56, through: 0, by: -8) { output.append(UInt8(truncatingIfNeeded: half >> UInt64(shift))) }
            }
        }
        output.append(UInt8(port >> 8))
        output.append(UInt8(port & 0xFF))
    }

    /// Splits a compact peer string (6 bytes per IPv4 peer, 18 per IPv6).
    public static func parseCompact(_ bytes: [UInt8], addressLength: Int) -> [PeerEndpoint] {
        let stride = addressLength + 2
        guard stride > 2 else { return [] }
        return Swift.stride(from: 0, to: bytes.count - bytes.count % stride, by: stride).compactMap { start in
            guard let ip = IPAddress(bytes: Array(bytes[start..<start + addressLength])) else { return nil }
            let port = UInt16(bytes[start + addressLength]) << 8 | UInt16(bytes[start + addressLength + 1])
            return port == 0 ? nil : PeerEndpoint(ip: ip, port: port)
        }
    }
}
