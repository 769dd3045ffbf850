import NIOCore
import NIOPosix

/// The IPv4 addresses of this machine's network interfaces: what `-i IFACE`
/// binds to and what the daemon's `network.interfaces` listen on.
public enum InterfaceAddress {
    /// The first IPv4 address of `interface`; nil if it has none.
    public static func ipv4(of interface: String) throws -> String? {
        for device in try System.enumerateDevices() where device.name == interface {
            if case .v4(let address)? = device.address { return address.host }
        }
        return nil
    }

    /// The first IPv4 address not on loopback (the LAN address a tracker
    /// URL is derived from when none is configured); nil if there is none.
    public static func firstNonLoopbackIPv4() -> String? {
        guard let devices = try? System.enumerateDevices() else { return nil }
        for device in devices {
            if case .v4(let address)? = device.address, !address.host.hasPrefix("127.") { return address.host }
        }
        return nil
    }
}
