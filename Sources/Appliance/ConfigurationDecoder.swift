import Metainfo
import TrackerKit

/// Turns a parsed YAML tree into an `ApplianceConfiguration`, collecting
/// every problem (unknown keys with a "did you mean", wrong types,
/// out-of-range values) with its position rather than stopping at the first.
struct ConfigurationDecoder {
    typealias Entry = (key: String, keyMark: YAMLMark, value: YAMLNode)
    let file: String
    private(set) var issues: [ConfigurationIssue] = []
    /// Where each directory key was written (for later checks on disk).
    private(set) var directoryMarks: [String: YAMLMark] = [:]

    init(file: String) {
        self.file = file
    }

    mutating func decode(_ root: YAMLNode) -> ApplianceConfiguration {
        var config = ApplianceConfiguration()
        if root.isNull { return config }
        guard let entries = mapping(root, "the configuration") else { return config }
        let top = ["share_dir", "inbox_dir", "download_dir", "torrent_dir", "state_dir", "tracker", "network", "limits", "swarm", "logging", "status"]
        for entry in known(entries, keys: top, in: nil) {
            let value = entry.value
            switch entry.key {
            case "share_dir": directory(value, entry, into: &config.shareDirectory)
            case "inbox_dir": directory(value, entry, into: &config.inboxDirectory)
            case "download_dir": directory(value, entry, into: &config.downloadDirectory)
            case "torrent_dir": directory(value, entry, into: &config.torrentDirectory)
            case "state_dir": directory(value, entry, into: &config.stateDirectory)
            case "tracker": decodeTracker(value, into: &config.tracker)
            case "network": decodeNetwork(value, into: &config.network)
            case "limits": decodeLimits(value, into: &config.limits)
            case "swarm": decodeSwarm(value, into: &config.swarm)
            case "logging": decodeLogging(value, into: &config.logging)
            case "status":
                for item in section(value, "status", keys: ["listen"]) {
                    if let listen = hostPort(item.value, "status.listen") { config.status.listen = listen }
                }
            default: break
            }
        }
        return config
    }

    // MARK: Sections

    private mutating func decodeTracker(_ node: YAMLNode, into tracker: inout ApplianceConfiguration.Tracker) {
        for entry in section(node, "tracker", keys: ["url", "embedded"]) {
            switch entry.key {
            case "url":
                guard !entry.value.isNull else { tracker.url = nil; continue }
                guard let text = string(entry.value, "tracker.url") else { continue }
                do throws(TrackerClientError) {
                    _ = try TrackerURL(text)
                    tracker.url = text
                } catch {
                    report(entry.value.mark, "tracker.url: \(error)")
                }
            case "embedded":
                for item in section(entry.value, "tracker.embedded", keys: ["enabled", "listen", "announce_interval_s", "peer_timeout_s"]) {
                    let name = "tracker.embedded.\(item.key)"
                    switch item.key {
                    case "enabled": if let value = bool(item.value, name) { tracker.embedded.enabled = value }
                    case "listen": if let value = hostPort(item.value, name) { tracker.embedded.listen = value }
                    case "announce_interval_s": if let value = integer(item.value, name, in: 1...3600) { tracker.embedded.announceIntervalSeconds = value }
                    case "peer_timeout_s": if let value = integer(item.value, name, in: 1...86_400) { tracker.embedded.peerTimeoutSeconds = value }
                    default: break
                    }
                }
            default: break
            }
        }
    }

    private mutating func decodeNetwork(_ node: YAMLNode, into network: inout ApplianceConfiguration.Network) {
        for entry in section(node, "network", keys: ["interfaces", "port"]) {
            switch entry.key {
            case "interfaces":
                if entry.value.isNull { network.interfaces = []; continue }
                guard case .sequence(let items, _) = entry.value else {
                    report(entry.value.mark, "network.interfaces must be a list of interface names, like [eth0]")
                    continue
                }
                var names: [String] = []
                for item in items {
                    guard let name = string(item, "network.interfaces entry") else { continue }
                    guard !name.isEmpty, name.utf8.count < 16, !name.contains("/"), !name.contains(" ") else {
                        report(item.mark, "'\(name)' is not an interface name")
                        continue
                    }
                    names.append(name)
                }
                network.interfaces = names
            case "port": if let value = integer(entry.value, "network.port", in: 1...65535) { network.port = value }
            default: break
            }
        }
    }

    private mutating func decodeLimits(_ node: YAMLNode, into limits: inout ApplianceConfiguration.Limits) {
        for entry in section(node, "limits", keys: ["upload_kbps", "download_kbps", "max_peers_per_torrent"]) {
            let name = "limits.\(entry.key)"
            switch entry.key {
            case "upload_kbps": if let value = integer(entry.value, name, in: 0...10_000_000) { limits.uploadKBps = value }
            case "download_kbps": if let value = integer(entry.value, name, in: 0...10_000_000) { limits.downloadKBps = value }
            case "max_peers_per_torrent": if let value = integer(entry.value, name, in: 1...10_000) { limits.maxPeersPerTorrent = value }
            default: break
            }
        }
    }

    private mutating func decodeSwarm(_ node: YAMLNode, into swarm: inout ApplianceConfiguration.Swarm) {
        for entry in section(node, "swarm", keys: ["wait_seeders", "wait_leechers", "piece_length", "private"]) {
            let name = "swarm.\(entry.key)"
            switch entry.key {
            case "wait_seeders": if let value = integer(entry.value, name, in: 0...10_000) { swarm.waitSeeders = value }
            case "wait_leechers": if let value = integer(entry.value, name, in: 0...10_000) { swarm.waitLeechers = value }
            case "private": if let value = bool(entry.value, name) { swarm.isPrivate = value }
            case "piece_length":
                guard let text = string(entry.value, name) else { continue }
                guard let length = PieceLength(argument: text) else {
                    report(entry.value.mark, "\(name) must be auto or a size like 256K or 4M (got '\(text)')")
                    continue
                }
                if let problem = length.problem {
                    report(entry.value.mark, "\(name): \(problem)")
                } else {
                    swarm.pieceLength = length
                }
            default: break
            }
        }
    }

    private mutating func decodeLogging(_ node: YAMLNode, into logging: inout ApplianceConfiguration.Logging) {
        for entry in section(node, "logging", keys: ["level", "format"]) {
            let name = "logging.\(entry.key)"
            switch entry.key {
            case "level": if let value = choice(entry.value, name, ApplianceConfiguration.Logging.Level.self) { logging.level = value }
            case "format": if let value = choice(entry.value, name, ApplianceConfiguration.Logging.Format.self) { logging.format = value }
            default: break
            }
        }
    }

    // MARK: Values

    private mutating func report(_ mark: YAMLMark, _ message: String) {
        issues.append(ConfigurationIssue(file: file, mark: mark, message: message))
    }

    private mutating func mapping(_ node: YAMLNode, _ name: String) -> [Entry]? {
        guard case .mapping(let entries, _) = node else {
            report(node.mark, "\(name) must be a mapping of keys, not \(node.kind)")
            return nil
        }
        return entries
    }

    /// The known entries of a section; unknown keys are reported.
    private mutating func section(_ node: YAMLNode, _ name: String, keys: [String]) -> [Entry] {
        if node.isNull { return [] }
        guard let entries = mapping(node, name) else { return [] }
        return known(entries, keys: keys, in: name)
    }

    private mutating func known(_ entries: [Entry], keys: [String], in section: String?) -> [Entry] {
        entries.filter { entry in
            guard keys.contains(entry.key) else {
                let place = section.map { " in \($0)" } ?? ""
                let close = keys.map { (key: $0, distance: Self.editDistance($0, entry.key)) }.min { $0.distance < $1.distance }
                let hint = close.flatMap { $0.distance <= max(2, entry.key.count / 3) ? " (did you mean '\($0.key)'?)" : nil } ?? ""
                report(entry.keyMark, "unknown key '\(entry.key)'\(place)\(hint)")
                return false
            }
            return true
        }
    }

    private mutating func string(_ node: YAMLNode, _ name: String) -> String? {
        guard case .scalar(let text, _, _) = node, !node.isNull else {
            report(node.mark, node.isNull ? "\(name) needs a value" : "\(name) must be a single value, not \(node.kind)")
            return nil
        }
        return text
    }

    private mutating func directory(_ node: YAMLNode, _ entry: Entry, into target: inout String) {
        guard let text = string(node, entry.key) else { return }
        guard !text.isEmpty, !text.contains("\0") else {
            report(node.mark, "\(entry.key) must be a directory path")
            return
        }
        // One spelling per directory ("/srv/share/" is "/srv/share"), so
        // every comparison and path built from it agrees.
        target = ConfigurationLoader.trimmedPath(text)
        directoryMarks[entry.key] = node.mark
    }

    private mutating func integer(_ node: YAMLNode, _ name: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, name) else { return nil }
        guard case .scalar(_, _, plain: true) = node, let value = Int(text) else {
            report(node.mark, "\(name) must be a whole number (got '\(text)')")
            return nil
        }
        guard range.contains(value) else {
            report(node.mark, "\(name) must be from \(range.lowerBound) to \(range.upperBound) (got \(value))")
            return nil
        }
        return value
    }

    private mutating func bool(_ node: YAMLNode, _ name: String) -> Bool? {
        guard let text = string(node, name) else { return nil }
        switch text {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default:
            report(node.mark, "\(name) must be true or false (got '\(text)')")
            return nil
        }
    }

    private mutating func choice<T: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ name: String, _ type: T.Type) -> T?
    where T.RawValue == String {
        guard let text = string(node, name) else { return nil }
        guard let value = T(rawValue: text) else {
            let options = T.allCases.map(\.rawValue).joined(separator: " | ")
            report(node.mark, "\(name) must be one of \(options) (got '\(text)')")
            return nil
        }
        return value
    }

    private mutating func hostPort(_ node: YAMLNode, _ name: String) -> String? {
        guard let text = string(node, name) else { return nil }
        guard let parsed = HostPort.parse(text), let port = parsed.port, (1...65535).contains(port), !parsed.host.isEmpty else {
            report(node.mark, "\(name) must be HOST:PORT with a port from 1 to 65535 (got '\(text)')")
            return nil
        }
        return text
    }

    /// Levenshtein distance, for "did you mean".
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
