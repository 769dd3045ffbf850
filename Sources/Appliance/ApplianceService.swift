import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon as a swift-service-lifecycle service: runs the supervisor's
/// event handling and rescans, reloads on SIGHUP, and on graceful shutdown
/// (SIGTERM, SIGINT) stops every torrent (announcing `stopped`, flushing
/// resume data) before returning. Under systemd (`Type=notify`) it says
/// when it is ready, reloading and stopping, and pets the watchdog.
public struct ApplianceService: Service {
    public let supervisor: ApplianceSupervisor

    public init(supervisor: ApplianceSupervisor) {
        self.supervisor = supervisor
    }

    public func run() async throws {
        let notifier = SystemdNotifier()
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try await supervisor.start()
        let supervisor = self.supervisor
        notifier.ready(status: await supervisor.summary())
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await supervisor.processEvents() }
            group.addTask { await supervisor.rescanPeriodically() }
            group.addTask {
                for await _ in hangups {
                    notifier.reloading()
                    await supervisor.reload(trigger: "SIGHUP")
                    notifier.ready(status: await supervisor.summary())
                }
            }
            if let interval = notifier.watchdogInterval {
                // Petted only while the supervisor answers: a wedged actor
                // gets the service restarted by systemd.
                group.addTask {
                    while !Task.isCancelled {
                        _ = await supervisor.summary()
                        notifier.watchdog()
                        try? await Task.sleep(for: interval)
                    }
                }
            }
            // Returns when a graceful shutdown is asked for (or on cancel).
            try? await gracefulShutdown()
            group.cancelAll()
        }
        notifier.stopping()
        await supervisor.stop()
    }

    /// Runs the daemon until SIGTERM or SIGINT; the stop is given
    /// `shutdownSeconds` before the group cancels it (SPEC: exit within 10 s).
    public static func run(supervisor: ApplianceSupervisor, logger: Logger, shutdownSeconds: Int = 9) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: ApplianceService(supervisor: supervisor))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(shutdownSeconds)
        try await ServiceGroup(configuration: configuration).run()
    }
}
