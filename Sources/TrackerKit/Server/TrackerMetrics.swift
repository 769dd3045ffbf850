import Prometheus

/// The tracker's Prometheus metrics (swift-prometheus registry).
final class TrackerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let announcesOK: Counter
    private let announcesFailed: Counter
    private let scrapes: Counter
    private let swarms: Gauge
    private let peers: Gauge
    private let seeders: Gauge

    init() {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "microtorr", subsystem: "tracker", metricName: metric, unitName: unit, helpText: help)
        }
        let announces = name("announces", "total", "Announces answered, by result.")
        announcesOK = registry.makeCounter(descriptor: announces, labels: [("result", "ok")])
        announcesFailed = registry.makeCounter(descriptor: announces, labels: [("result", "failure")])
        scrapes = registry.makeCounter(descriptor: name("scrapes", "total", "Scrapes answered."))
        swarms = registry.makeGauge(descriptor: name("swarms", "", "Torrents with live peers."))
        peers = registry.makeGauge(descriptor: name("peers", "", "Live peers across all torrents."))
        seeders = registry.makeGauge(descriptor: name("seeders", "", "Live seeders across all torrents."))
    }

    func announced(ok: Bool) {
        (ok ? announcesOK : announcesFailed).increment()
    }

    func scraped() { scrapes.increment() }

    /// Prometheus text, with the gauges taken from the registry's counts.
    func render(swarmCount: Int, peerCount: Int, seederCount: Int) -> [UInt8] {
        swarms.set(Int64(swarmCount))
        peers.set(Int64(peerCount))
        seeders.set(Int64(seederCount))
        return registry.emitToBuffer()
    }
}
