import Engine
import MicroTorrLogging
import Metainfo
import Prometheus
import TrackerKit

/// The daemon's `/status` (JSON) and `/metrics` (Prometheus text), built
/// from the board when asked.
public struct StatusReport: Sendable {
    let board: TorrentBoard
    private let metrics = StatusMetrics()

    init(board: TorrentBoard) {
        self.board = board
    }

    /// Routes a status-server request.
    public func reply(target: String) -> HTTPReply {
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target
        switch path {
        case "/status", "/status/": return HTTPReply(status: 200, contentType: "application/json", body: statusJSON())
        case "/metrics": return HTTPReply(status: 200, contentType: "text/plain; version=0.0.4", body: metrics.render(board.all()))
        default: return .text("not found (try /status or /metrics)\n", status: 404)
        }
    }

    /// SPEC: every torrent with `name, info_hash, state, progress,
    /// downloaded, uploaded, peers, down_rate, up_rate`, and the limits in
    /// force. Written by hand: it runs on an event loop, and Foundation's
    /// serializer took a second for 10 000 torrents.
    func statusJSON() -> [UInt8] {
        let configuration = board.configuration
        let entries = board.all()
        var text = "{\"limits\":{"
        text += "\"download_kbps\":\(configuration.limits.downloadKBps),"
        text += "\"max_peers_per_torrent\":\(configuration.limits.maxPeersPerTorrent),"
        text += "\"upload_kbps\":\(configuration.limits.uploadKBps),"
        text += "\"wait_leechers\":\(configuration.swarm.waitLeechers),"
        text += "\"wait_seeders\":\(configuration.swarm.waitSeeders)},"
        text += "\"torrents\":["
        text.reserveCapacity(entries.count * 300)
        for (index, entry) in entries.enumerated() {
            let snapshot = entry.session?.snapshot
            if index > 0 { text += "," }
            text += "{\"down_rate\":\(Int64(snapshot?.downloadRate ?? 0)),\"downloaded\":\(snapshot?.downloaded ?? 0)"
            if let error = snapshot?.error {
                text += ",\"error\":"
                JSONText.appendString(error, to: &text)
            }
            text += ",\"info_hash\":" + (entry.infoHash.map { "\"\($0.hex)\"" } ?? "null")
            text += ",\"name\":"
            JSONText.appendString(entry.name, to: &text)
            text += ",\"origin\":\"\(entry.origin)\",\"peers\":\(snapshot?.peers ?? 0)"
            let progress = snapshot.map { $0.pieceCount == 0 ? 0 : Double($0.verifiedPieces) / Double($0.pieceCount) } ?? 0
            text += ",\"progress\":\(progress),\"seeders\":\(snapshot?.seeders ?? 0)"
            text += ",\"size\":\(entry.session?.metainfo.info.totalLength ?? 0),\"state\":\"\(Self.state(of: entry))\""
            text += ",\"up_rate\":\(Int64(snapshot?.uploadRate ?? 0)),\"uploaded\":\(snapshot?.uploaded ?? 0)}"
        }
        text += "],\"uptime_s\":\(Int(MonotonicClock.seconds() - board.startedAt)),\"version\":\"\(MicroTorrVersion.string)\"}\n"
        return Array(text.utf8)
    }

    static func state(of entry: TorrentBoard.Entry) -> String {
        switch entry.stage {
        case .hashing, .verifying: return entry.stage.rawValue
        case .active:
            guard let snapshot = entry.session?.snapshot else { return "stopped" }
            if snapshot.isPausedForStorage { return "paused" }
            if snapshot.error != nil, !snapshot.isComplete { return "failed" }
            if snapshot.isComplete { return "seeding" }
            return snapshot.isWaitingForSwarm ? "waiting" : "downloading"
        }
    }
}

/// Totals across torrents as Prometheus gauges, set at each scrape.
final class StatusMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let peers: Gauge
    private let downloaded: Gauge
    private let uploaded: Gauge
    private let downRate: Gauge
    private let upRate: Gauge
    private static let states = ["hashing", "verifying", "waiting", "downloading", "paused", "seeding", "failed", "stopped"]

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "microtorr", subsystem: "daemon", metricName: metric, unitName: unit, helpText: help)
    }

    init() {
        peers = registry.makeGauge(descriptor: Self.name("peers", "", "Connected peers across torrents."))
        downloaded = registry.makeGauge(descriptor: Self.name("downloaded", "bytes", "Bytes downloaded by running torrents."))
        uploaded = registry.makeGauge(descriptor: Self.name("uploaded", "bytes", "Bytes uploaded by running torrents."))
        downRate = registry.makeGauge(descriptor: Self.name("download_rate", "bytes_per_second", "Download rate across torrents."))
        upRate = registry.makeGauge(descriptor: Self.name("upload_rate", "bytes_per_second", "Upload rate across torrents."))
    }

    func render(_ entries: [TorrentBoard.Entry]) -> [UInt8] {
        var counts = Dictionary(uniqueKeysWithValues: Self.states.map { ($0, 0) })
        var totals = (peers: 0, down: Int64(0), up: Int64(0), downRate: 0.0, upRate: 0.0)
        for entry in entries {
            counts[StatusReport.state(of: entry), default: 0] += 1
            guard let snapshot = entry.session?.snapshot else { continue }
            totals.peers += snapshot.peers
            totals.down += snapshot.downloaded
            totals.up += snapshot.uploaded
            totals.downRate += snapshot.downloadRate
            totals.upRate += snapshot.uploadRate
        }
        for (state, count) in counts.sorted(by: { $0.key < $1.key }) {
            registry.makeGauge(descriptor: Self.name("torrents", "", "Torrents by state."), labels: [("state", state)]).set(Int64(count))
        }
        peers.set(Int64(totals.peers))
        downloaded.set(totals.down)
        uploaded.set(totals.up)
        downRate.set(totals.downRate)
        upRate.set(totals.upRate)
        return registry.emitToBuffer()
    }
}
