import Dispatch
import Engine
import Logging
import Metainfo
import MicroTorrLogging
import NIOCore
import NIOPosix
import PeerWire
import TrackerKit
#if canImport(Glibc)
import Glibc
#endif

/// The appliance's one owner of state: which shared entries and inbox
/// downloads run as torrents, the listeners, the embedded tracker, the
/// status server and the configuration in force. File events, rescans,
/// reloads and completions all arrive here as actor calls; blocking work
/// (hashing, verifying, state files of size) runs off it.
public actor ApplianceSupervisor {
    public struct Options: Sendable {
        /// A shared file is taken once nothing in it changed for this long.
        public var settleSeconds = 1.0
        /// Full rescans behind inotify (missed events on network
        /// filesystems, overflowed queues).
        public var rescanSeconds = 30.0

        public init() {}
    }

    public nonisolated let board: TorrentBoard
    public nonisolated let report: StatusReport
    private var configuration: ApplianceConfiguration
    private let configurationPath: String?
    private let options: Options
    private let logger: Logger
    private let peerID = PeerID.random()
    /// Process-wide limits (`limits.upload_kbps`, `download_kbps`).
    private let uploadLimit = BandwidthLimit()
    private let downloadLimit = BandwidthLimit()

    private var peers: PeerService?
    private var tracker: TrackerServer?
    private var statusServer: StatusServer?
    private var watcher: DirectoryWatcher?
    private var catalog = ShareCatalog()
    private var catalogSaveScheduled = false
    /// The last background write: each waits for the one before, so an
    /// older version of a file never lands last, and `stop` waits for all.
    private var lastWrite: Task<Void, Never>?

    /// Shared entries by name in `share_dir`.
    private var shares: [String: Share] = [:]
    /// Torrents from the inbox, running or finished and seeding.
    private var downloads: [InfoHash: Download] = [:]
    private var running: [InfoHash: TrackedSession] = [:]
    /// Paths written to and not yet closed (inotify `IN_MODIFY` without
    /// `IN_CLOSE_WRITE`): not settled whatever their times say.
    private var openForWriting: [String: Double] = [:]
    /// Inbox files that could not be filed (`.done`/`.failed` is a link or
    /// not a folder): left alone, not handled again at every rescan, until
    /// those folders are plain again.
    private var unmovable: Set<String> = []
    /// Inbox files being read and parsed off the actor.
    private var readingInbox: Set<String> = []
    /// A check of one share entry or inbox file, due later.
    private enum Check: Hashable {
        case share(name: String)
        case inbox(path: String)
    }

    /// Checks waiting for their time: one timer per entry, however many
    /// events it gets meanwhile.
    private var scheduledChecks: Set<Check> = []
    private var reloadScheduled = false
    /// Listen addresses of the file a reload could not bind (taken by
    /// another program): the old ones keep serving, `configuration` keeps
    /// their running values, and a rescan reloads to try again, one rescan
    /// later at first, then twice as long each time, up to 10 min.
    private struct ListenerRetry {
        var sections: [String] = []
        var failures = 0
        var at = 0.0
    }
    private var listenerRetry = ListenerRetry()
    /// A reload runs at a time; one asked for meanwhile runs after it.
    private var reloading = false
    private var reloadAgain: String?
    /// Shared entries waiting to be hashed, in order, and as a set.
    private var hashQueue: [String] = []
    private var hashQueueHead = 0
    private var queued: Set<String> = []
    private var hashing: String?
    private var stopping = false
    /// Torrents being stopped in the background (shutdown waits for them).
    private var stopsInFlight: [Int: Task<Void, Never>] = [:]
    private var nextStopID = 0

    private struct Share {
        /// The torrent running for it; nil while settling or hashing, or
        /// after a failed attempt.
        var infoHash: InfoHash?
        /// What that torrent (or a failed attempt) was made from.
        var fingerprint: ShareProbe.Fingerprint?
        /// Failed attempts in a row (hashing, writing its `.mtorrent`, or
        /// starting: the same torrent already running), and when a rescan
        /// may try again: the cause may pass (space freed, the other copy
        /// gone) without the entry changing.
        var failures = 0
        var retryAt = 0.0
    }

    /// `name` could not be shared as it is now: tried again at a rescan,
    /// one rescan later at first, then twice as long each time, up to an
    /// hour (counted afresh once the entry changes).
    private func shareFailed(_ name: String, fingerprint: ShareProbe.Fingerprint) {
        let before = shares[name].flatMap { $0.fingerprint == fingerprint ? $0.failures : nil } ?? 0
        let wait = BackoffSchedule(initial: .seconds(options.rescanSeconds), maximum: .seconds(3600)).seconds(afterFailures: before + 1)
        shares[name] = Share(infoHash: nil, fingerprint: fingerprint, failures: before + 1, retryAt: MonotonicClock.seconds() + wait)
    }

    /// Seeds a share's torrent, or records the failure (the same torrent
    /// already runs) for a retry.
    private func seedShare(_ metainfo: Metainfo, name: String, probe: ShareProbe, fingerprint: ShareProbe.Fingerprint) {
        if startSeeding(metainfo, dataPath: probe.path, name: name, origin: "share") {
            shares[name] = Share(infoHash: metainfo.infoHash, fingerprint: fingerprint)
        } else {
            shareFailed(name, fingerprint: fingerprint)
        }
    }

    /// Looks at `name` again once `probe` settles.
    private func recheck(_ name: String, whenSettled probe: ShareProbe, now: Double) {
        schedule(.share(name: name), after: max(0.05, probe.settledAt(settle: options.settleSeconds) - now + 0.02))
    }

    private struct Download {
        let name: String
        /// The `.mtorrent` in the inbox until the download is done.
        var inboxPath: String?
        let metainfoBytes: [UInt8]
    }

    public init(configuration: ApplianceConfiguration, configurationPath: String?, options: Options = Options(),
                logger: Logger = Logger(label: "microtorr.daemon")) {
        self.configuration = configuration
        self.configurationPath = configurationPath
        self.options = options
        self.logger = logger
        board = TorrentBoard(configuration: configuration)
        report = StatusReport(board: board)
    }

    // MARK: Start and stop

    /// Creates the directories, opens the listeners, starts the embedded
    /// tracker and the status server, then brings back what ran before
    /// (finished downloads, shared entries from the hashing cache) and
    /// takes what is waiting in the share and inbox directories.
    public func start() async throws {
        try makeDirectories(configuration)
        // Every shared file may be open at once (storage keeps descriptors).
        DescriptorLimit.raiseToMaximum()
        catalog = ShareCatalog.load(fromDirectory: configuration.stateDirectory)
        applyRates()
        LogLevelControl.shared.level = Self.level(configuration.logging.level)
        do {
            peers = try await PeerService.start(hosts: try listenHosts(configuration), port: configuration.network.port)
        } catch {
            throw ApplianceError("cannot listen for peers on port \(configuration.network.port): \(error)")
        }
        tracker = try await startTracker(configuration)
        statusServer = try await startStatusServer(configuration)
        let logger = self.logger
        let watcher = try DirectoryWatcher { problem in
            logger.warning("\(problem)", metadata: ["event": "watch.failed"])
        }
        self.watcher = watcher
        watcher.watch(configuration.shareDirectory, recursive: true)
        watcher.watch(configuration.inboxDirectory, recursive: false)
        if let configurationPath { watcher.watch(FileIO.directoryName(of: configurationPath), recursive: false) }
        restoreFinishedDownloads()
        scanShareDirectory()
        scanInbox()
        logger.info("daemon started", metadata: [
            "event": "daemon.started", "port": .stringConvertible(peers?.port ?? 0),
            "share_dir": .string(configuration.shareDirectory), "inbox_dir": .string(configuration.inboxDirectory),
            "status": .string(statusServer?.address ?? "off"), "tracker": .string(announceURL()),
            "shared": .stringConvertible(running.count),
        ])
    }

    /// One line for `systemctl status`.
    public func summary() -> String {
        let sessions = running.values.map(\.session.snapshot)
        let seeding = sessions.filter(\.isComplete).count
        return "seeding \(seeding), downloading \(sessions.count - seeding), hashing \(queued.count + (hashing == nil ? 0 : 1))"
    }

    /// Handles file events until the watcher closes or the task is cancelled.
    public func processEvents() async {
        guard let events = watcher?.events else { return }
        for await event in events {
            handle(event)
        }
    }

    /// Rescans everything every `rescanSeconds` until cancelled.
    public func rescanPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(options.rescanSeconds))
            if Task.isCancelled || stopping { return }
            rescanAll()
        }
    }

    /// Graceful stop: every torrent announces `stopped` and flushes its
    /// resume data (at once, side by side), the hashing cache is saved,
    /// then the listeners and servers close.
    public func stop() async {
        guard !stopping else { return }
        stopping = true
        logger.info("stopping", metadata: ["event": "daemon.stopping", "torrents": .stringConvertible(running.count)])
        watcher?.close()
        // The last of the background writes (retargeted `.mtorrent`
        // files, the cache): all are on disk after it.
        await saveCatalog().value
        let sessions = Array(running.values)
        running = [:]
        let background = Array(stopsInFlight.values)
        // Announces are bounded (3 s each, side by side with the flush);
        // the whole stop is bounded too, so SIGTERM ends within 10 s.
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { stops in
                    for tracked in sessions { stops.addTask { await tracked.stop() } }
                    for task in background { stops.addTask { await task.value } }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(7))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !finished {
            logger.warning("some torrents did not stop in time", metadata: ["event": "daemon.stop_timeout"])
        }
        await peers?.close()
        await tracker?.shutdown()
        await statusServer?.close()
        logger.info("stopped", metadata: ["event": "daemon.stopped"])
    }

    // MARK: File events

    func handle(_ event: FileEvent) {
        guard !stopping else { return }
        if event.kind == .overflow {
            logger.warning("inotify queue overflowed; rescanning", metadata: ["event": "watch.overflow"])
            openForWriting = [:]
            rescanAll(afterOverflow: true)
            return
        }
        if let configurationPath, event.path == configurationPath {
            if event.kind != .modified { scheduleReload() }
            return
        }
        let share = configuration.shareDirectory
        let inbox = configuration.inboxDirectory
        if event.path.hasPrefix(share + "/") {
            let relative = event.path.dropFirst(share.count + 1)
            let top = String(relative.prefix { $0 != "/" })
            guard !DropRules.isIgnored(top) else { return }
            trackWriting(event)
            schedule(.share(name: top), after: event.kind == .modified ? options.settleSeconds : 0.05)
        } else if event.path.hasPrefix(inbox + "/"), !event.path.dropFirst(inbox.count + 1).contains("/") {
            let name = String(event.path.dropFirst(inbox.count + 1))
            guard !DropRules.isIgnored(name) else { return }
            trackWriting(event)
            if event.kind != .modified, event.kind != .disappeared { schedule(.inbox(path: event.path), after: 0) }
        } else if event.path == share || event.path == inbox, event.kind == .disappeared {
            logger.warning("watched directory removed; it is recreated at the next rescan", metadata: [
                "event": "watch.directory_removed", "path": .string(event.path),
            ])
        }
    }

    private func trackWriting(_ event: FileEvent) {
        switch event.kind {
        case .modified: openForWriting[event.path] = ShareProbe.now()
        case .closedAfterWrite: openForWriting[event.path] = nil
        case .disappeared:
            openForWriting = openForWriting.filter { $0.key != event.path && !$0.key.hasPrefix(event.path + "/") }
        default: break
        }
    }

    /// Whether something under `path` is open for writing. A writer silent
    /// for a minute no longer counts (a missed close must not block forever).
    private func isBeingWritten(_ path: String, now: Double) -> Bool {
        openForWriting.contains { entry in
            (entry.key == path || entry.key.hasPrefix(path + "/")) && now - entry.value < 60
        }
    }

    private func schedule(_ check: Check, after seconds: Double) {
        guard scheduledChecks.insert(check).inserted else { return }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            self.run(check)
        }
    }

    private func run(_ check: Check) {
        scheduledChecks.remove(check)
        switch check {
        case .share(let name): checkShare(name)
        case .inbox(let path): checkInbox(path)
        }
    }

    // MARK: Rescans

    /// `afterOverflow`: events were lost, directories made meanwhile among
    /// them, so every watch is renewed (a walk of the share tree); otherwise
    /// only a watched directory removed and made again is watched anew.
    private func rescanAll(afterOverflow: Bool = false) {
        guard !stopping else { return }
        try? makeDirectories(configuration)
        if !unmovable.isEmpty, [".done", ".failed"].allSatisfy({ name in
            let path = "\(configuration.inboxDirectory)/\(name)"
            return !FileIO.entryExists(atPath: path) || FileIO.isDirectory(atPath: path)
        }) {
            unmovable = []
        }
        watcher?.watch(configuration.shareDirectory, recursive: true, unlessWatched: !afterOverflow)
        watcher?.watch(configuration.inboxDirectory, recursive: false, unlessWatched: !afterOverflow)
        scanShareDirectory()
        scanInbox()
        checkFinishedDownloadsStillThere()
        refuseFailedDownloads()
        if !listenerRetry.sections.isEmpty, !reloading, MonotonicClock.seconds() >= listenerRetry.at {
            listenerRetry.at = .infinity  // one at a time: the reload sets the next
            Task { await self.reload(trigger: "retry") }
        }
    }

    /// A download that cannot finish (its final name taken meanwhile, a
    /// disk error) is stopped and its `.mtorrent` filed under `.failed/`
    /// with the reason; its verified data stays staged for another try.
    private func refuseFailedDownloads() {
        for (infoHash, download) in downloads {
            guard let inboxPath = download.inboxPath, let tracked = running[infoHash] else { continue }
            let snapshot = tracked.session.snapshot
            // A full disk pauses the download; it goes on once space is freed.
            guard let error = snapshot.error, !snapshot.isComplete, !snapshot.isPausedForStorage else { continue }
            downloads[infoHash] = nil
            stopTorrent(infoHash)
            refuse(inboxPath, reason: "download failed: \(error)")
        }
    }

    private func scanShareDirectory() {
        let present = Set(Self.listDirectory(configuration.shareDirectory).filter { !DropRules.isIgnored($0) })
        // With the names only the cache knows (removed while we were down,
        // or missing after a `share_dir` move): their check removes them.
        for name in present.union(shares.keys).union(catalog.entries.keys).sorted() {
            checkShare(name)
        }
    }

    private func scanInbox() {
        for name in Self.listDirectory(configuration.inboxDirectory).sorted() where !DropRules.isIgnored(name) {
            checkInbox("\(configuration.inboxDirectory)/\(name)")
        }
    }

    // MARK: Sharing

    /// Brings one top-level entry of the share directory up to date: new
    /// and settled → hashed (or taken from the cache) and seeded; changed →
    /// the old torrent retired first; gone → stopped and its `.mtorrent`
    /// removed.
    private func checkShare(_ name: String) {
        guard !stopping else { return }
        guard let probe = ShareProbe(name: name, in: configuration.shareDirectory) else {
            removeShare(name)
            return
        }
        if let share = shares[name], share.fingerprint == probe.fingerprint {
            // Running, or failed and not yet due for another try.
            guard share.infoHash == nil, share.failures > 0, MonotonicClock.seconds() >= share.retryAt else { return }
        }
        if hashing == name || queued.contains(name) { return }
        if let old = shares[name]?.infoHash {
            logger.info("shared entry changed; retiring its torrent", metadata: [
                "event": "torrent.retired", "torrent": .string(name), "info_hash": .string(old.hex),
            ])
            stopTorrent(old)
            shares[name] = Share()
        }
        let now = ShareProbe.now()
        if isBeingWritten(probe.path, now: now) { return }  // its close event brings it back
        guard probe.isSettled(now: now, settle: options.settleSeconds) else {
            recheck(name, whenSettled: probe, now: now)
            return
        }
        if let cached = catalog[name], cached.fingerprint == probe.fingerprint,
           let metainfo = loadOwnTorrent(named: name, infoHash: cached.infoHash) {
            seedShare(metainfo, name: name, probe: probe, fingerprint: probe.fingerprint)
            logger.debug("shared entry unchanged since hashed", metadata: [
                "event": "share.cached", "torrent": .string(name), "info_hash": .string(metainfo.infoHash.hex),
            ])
            return
        }
        shares[name] = shares[name] ?? Share()
        hashQueue.append(name)
        queued.insert(name)
        board.set("share:\(name)", .init(name: name, infoHash: nil, origin: "share", stage: .hashing, session: nil))
        logger.info("new shared entry", metadata: ["event": "share.added", "torrent": .string(name)])
        pumpHashing(justProbed: probe)
    }

    /// Hashes queued entries one at a time (each on every core), and
    /// writes each `.mtorrent`, off the actor. `justProbed`: the entry
    /// `checkShare` found settled a moment ago (not walked again if it is
    /// next).
    private func pumpHashing(justProbed: ShareProbe? = nil) {
        guard hashing == nil, !stopping else { return }
        guard hashQueueHead < hashQueue.count else {
            hashQueue = []
            hashQueueHead = 0
            return
        }
        let name = hashQueue[hashQueueHead]
        hashQueueHead += 1
        // A slot whose entry was removed or retired meanwhile is skipped
        // (its share directory may have changed: never hash a stale name).
        guard queued.remove(name) != nil else {
            pumpHashing()
            return
        }
        board.remove("share:\(name)")
        let probe: ShareProbe
        if let justProbed, justProbed.name == name {
            probe = justProbed
        } else {
            guard let fresh = ShareProbe(name: name, in: configuration.shareDirectory) else {
                removeShare(name)
                pumpHashing()
                return
            }
            // Queued long ago: it must still be settled now.
            let now = ShareProbe.now()
            let beingWritten = isBeingWritten(fresh.path, now: now)
            guard !beingWritten, fresh.isSettled(now: now, settle: options.settleSeconds) else {
                if beingWritten { schedule(.share(name: name), after: options.settleSeconds) } else { recheck(name, whenSettled: fresh, now: now) }
                pumpHashing()
                return
            }
            probe = fresh
        }
        hashing = name
        board.set("share:\(name)", .init(name: name, infoHash: nil, origin: "share", stage: .hashing, session: nil))
        var creation = MetainfoCreator.Options()
        creation.trackers = [announceURL()]
        creation.pieceLength = configuration.swarm.pieceLength
        creation.isPrivate = configuration.swarm.isPrivate
        let path = probe.path
        let output = torrentPath(name)
        let started = MonotonicClock.seconds()
        let options = creation
        Task {
            let result = await Self.offLoop { () -> Result<Metainfo, ApplianceError> in
                do throws(CreationError) {
                    let metainfo = try MetainfoCreator(options: options).create(
                        from: ContentSource(scanning: path, excluding: DropRules.isIgnored))
                    do {
                        try FileIO.writeAtomically(metainfo.encoded(), toPath: output)
                    } catch {
                        return .failure(ApplianceError("cannot write \(output): \(error)"))
                    }
                    return .success(metainfo)
                } catch {
                    return .failure(ApplianceError("\(error)"))
                }
            }
            self.hashed(name, fingerprint: probe.fingerprint, result: result, torrentPath: output,
                        seconds: MonotonicClock.seconds() - started)
        }
    }

    private func hashed(_ name: String, fingerprint: ShareProbe.Fingerprint, result: Result<Metainfo, ApplianceError>,
                        torrentPath: String, seconds: Double) {
        hashing = nil
        board.remove("share:\(name)")
        defer { pumpHashing() }
        guard !stopping else { return }
        // Removed while hashing: gone, with the `.mtorrent` the hashing wrote.
        guard let probe = ShareProbe(name: name, in: configuration.shareDirectory) else {
            if case .success = result { unlink(torrentPath) }
            removeShare(name)
            return
        }
        // Changed while hashing: start over from the new content.
        guard probe.fingerprint == fingerprint else {
            shares[name] = nil
            checkShare(name)
            return
        }
        switch result {
        case .failure(let error):
            shareFailed(name, fingerprint: fingerprint)
            logger.error("cannot share \(name)", metadata: ["event": "share.failed", "torrent": .string(name), "error": .string(error.description)])
        case .success(let created):
            // A reload while hashing may have moved the tracker or
            // `torrent_dir`: the torrent follows the settings of now (its
            // info-hash stays the same).
            var metainfo = created
            let url = announceURL()
            let output = self.torrentPath(name)
            if created.announce != url || output != torrentPath {
                metainfo = created.announcing(to: url)
                writeInBackground([PendingWrite(bytes: metainfo.encoded(), path: output)], failureEvent: "share.write_failed")
            }
            catalog[name] = ShareCatalog.Entry(fingerprint: fingerprint, infoHash: metainfo.infoHash)
            scheduleCatalogSave()
            logger.info("torrent created", metadata: [
                "event": "torrent.created", "torrent": .string(name), "info_hash": .string(metainfo.infoHash.hex),
                "bytes": .stringConvertible(metainfo.info.totalLength), "path": .string(output),
                "seconds": .stringConvertible((seconds * 1000).rounded() / 1000),
            ])
            seedShare(metainfo, name: name, probe: probe, fingerprint: fingerprint)
        }
    }

    /// The entry is gone from the share: its torrent stops, and what we
    /// keep for it goes (cache entry, `.mtorrent`), also when only the
    /// cache knew it (removed while we were down, or the entry retired by a
    /// `share_dir` move and missing from the new folder).
    private func removeShare(_ name: String) {
        let share = shares.removeValue(forKey: name)
        let catalogued = catalog[name] != nil
        guard share != nil || catalogued else { return }
        queued.remove(name)  // its queue slot is skipped when reached
        board.remove("share:\(name)")
        if catalogued {
            catalog[name] = nil
            scheduleCatalogSave()
        }
        if share?.infoHash != nil || catalogued { unlink(torrentPath(name)) }
        if let infoHash = share?.infoHash {
            stopTorrent(infoHash)
            logger.info("shared entry removed; torrent stopped", metadata: [
                "event": "share.removed", "torrent": .string(name), "info_hash": .string(infoHash.hex),
            ])
        }
    }

    /// Our own `.mtorrent` for `name`, if it is still there and still the
    /// torrent the cache says.
    private func loadOwnTorrent(named name: String, infoHash: InfoHash) -> Metainfo? {
        let path = torrentPath(name)
        guard let metainfo = try? Metainfo(contentsOfFile: path), metainfo.infoHash == infoHash else { return nil }
        // Made for a tracker the configuration no longer names: same
        // torrent, announced where the tracker is now.
        let url = announceURL()
        guard metainfo.trackerTiers != [[url]] else { return metainfo }
        let moved = metainfo.announcing(to: url)
        writeInBackground([PendingWrite(bytes: moved.encoded(), path: path)], failureEvent: "share.write_failed")
        return moved
    }

    /// Where the `.mtorrent` made for share entry `name` lives.
    private func torrentPath(_ name: String) -> String {
        "\(configuration.torrentDirectory)/\(name).mtorrent"
    }

    /// Writes off the actor, without waiting, after any background write
    /// before it; failures are logged with `failureEvent`.
    @discardableResult
    private func writeInBackground(_ writes: [PendingWrite], failureEvent: String) -> Task<Void, Never> {
        let previous = lastWrite
        let logger = self.logger
        let write = Task.detached {
            await previous?.value
            for failure in await Self.write(writes) {
                logger.error("cannot write a file", metadata: ["event": .string(failureEvent), "error": .string(failure)])
            }
        }
        lastWrite = write
        return write
    }

    // MARK: Inbox

    /// One file in the inbox: a valid torrent starts a download (or is
    /// recognised as running or already here); anything else goes to
    /// `.failed/` with a `.error` file saying why.
    private func checkInbox(_ path: String) {
        guard !stopping else { return }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, !unmovable.contains(path) else { return }
        if isBeingWritten(path, now: ShareProbe.now()) { return }
        if downloads.values.contains(where: { $0.inboxPath == path }) { return }
        guard readingInbox.insert(path).inserted else { return }
        let changed = ShareProbe.changeTime(info)
        // Read and parsed off the actor: a `.mtorrent` may be megabytes.
        Task {
            let parsed = await Self.offLoop { () -> Result<InboxTorrent, ApplianceError> in
                do {
                    let bytes = try FileIO.readWholeFile(atPath: path, maxBytes: Metainfo.maxFileSize)
                    return .success(InboxTorrent(bytes: bytes, metainfo: try Metainfo(bencoded: bytes)))
                } catch {
                    return .failure(ApplianceError("\(error)"))
                }
            }
            self.inboxRead(path, parsed, changed: changed)
        }
    }

    private struct InboxTorrent: Sendable {
        let bytes: [UInt8]
        let metainfo: Metainfo
    }

    private func inboxRead(_ path: String, _ parsed: Result<InboxTorrent, ApplianceError>, changed: Double) {
        readingInbox.remove(path)
        guard !stopping, FileIO.entryExists(atPath: path) else { return }
        switch parsed {
        case .success(let torrent):
            accept(path, bytes: torrent.bytes, metainfo: torrent.metainfo)
        case .failure(let error):
            // A file still arriving parses badly: give it the settle time.
            if ShareProbe.now() - changed < options.settleSeconds + 1 {
                schedule(.inbox(path: path), after: options.settleSeconds)
            } else {
                refuse(path, reason: "not a valid .mtorrent: \(error)")
            }
        }
    }

    private func accept(_ path: String, bytes: [UInt8], metainfo: Metainfo) {
        let infoHash = metainfo.infoHash
        // Dropped again to fetch a finished download whose data was
        // deleted: not "already here" (the rescan may not have noticed yet).
        if let finished = downloads[infoHash], finished.inboxPath == nil {
            forgetFinishedDownloadIfGone(infoHash, download: finished)
        }
        if running[infoHash] != nil || downloads[infoHash] != nil {
            logger.info("torrent already here", metadata: [
                "event": "inbox.duplicate", "torrent": .string(metainfo.info.name), "info_hash": .string(infoHash.hex),
            ])
            moveInboxFile(path, to: ".done")
            return
        }
        let name = metainfo.info.name
        let finalPath = "\(configuration.downloadDirectory)/\(name)"
        if let problem = stagingProblem(name: name, finalPath: finalPath, infoHash: infoHash) {
            refuse(path, reason: problem)
            return
        }
        if let other = running.values.first(where: { !$0.session.snapshot.isComplete && $0.session.storage.finalPath == finalPath }) {
            refuse(path, reason: "another download in progress (\(other.session.metainfo.infoHash.hex)) will be saved as \(finalPath); "
                + "drop this .mtorrent again when it is done")
            return
        }
        downloads[infoHash] = Download(name: name, inboxPath: path, metainfoBytes: bytes)
        logger.info("download accepted", metadata: [
            "event": "inbox.accepted", "torrent": .string(name), "info_hash": .string(infoHash.hex),
            "bytes": .stringConvertible(metainfo.info.totalLength),
        ])
        if FileIO.entryExists(atPath: finalPath) {
            // Already in download_dir (copied by hand, or a lost state):
            // verified and seeded, not fetched again.
            verifyThenStart(metainfo, storage: TorrentStorage(info: metainfo.info, location: .existing(path: finalPath)),
                            requireComplete: true)
            return
        }
        let hex = infoHash.hex
        let storage = TorrentStorage(
            info: metainfo.info,
            location: .staged(staging: "\(configuration.downloadDirectory)/\(Self.stagingDirectoryName)/\(hex)/\(name)", finalPath: finalPath))
        if let state = ResumeState.load(fromPath: resumePath(infoHash), for: storage, infoHash: infoHash) {
            logger.info("download resumed", metadata: [
                "event": "download.resumed", "torrent": .string(name), "info_hash": .string(infoHash.hex),
                "pieces": .stringConvertible(state.have.setCount), "of": .stringConvertible(state.have.count),
            ])
            startDownload(metainfo, storage: storage, have: state.have)
        } else if FileIO.entryExists(atPath: storage.currentRoot) {
            verifyThenStart(metainfo, storage: storage, requireComplete: false)
        } else {
            startDownload(metainfo, storage: storage, have: Bitfield(count: metainfo.info.pieceCount))
        }
    }

    /// Why a download cannot go where it would: the daemon's own staging
    /// name, or a symbolic link planted at the final name or on the staging
    /// path (writes and seeding never go through links, so nothing lands or
    /// is read outside `download_dir`).
    private func stagingProblem(name: String, finalPath: String, infoHash: InfoHash) -> String? {
        if name == Self.stagingDirectoryName {
            return "its name \(name) is the daemon's own staging folder in \(configuration.downloadDirectory)"
        }
        let staging = "\(configuration.downloadDirectory)/\(Self.stagingDirectoryName)"
        for path in [finalPath, staging, "\(staging)/\(infoHash.hex)", "\(staging)/\(infoHash.hex)/\(name)"]
            where FileIO.isSymbolicLink(atPath: path) {
            return "\(path) is a symbolic link; MicroTorr does not write or seed through links (remove it and drop the .mtorrent again)"
        }
        return nil
    }

    private static let stagingDirectoryName = ".incoming"

    private func verifyThenStart(_ metainfo: Metainfo, storage: TorrentStorage, requireComplete: Bool) {
        let key = metainfo.infoHash.hex
        board.set(key, .init(name: metainfo.info.name, infoHash: metainfo.infoHash, origin: "download", stage: .verifying, session: nil))
        Task {
            let have = await Self.offLoop { storage.verifyAll(threads: System.coreCount) }
            self.verified(metainfo, storage: storage, have: have, requireComplete: requireComplete)
        }
    }

    private func verified(_ metainfo: Metainfo, storage: TorrentStorage, have: Bitfield, requireComplete: Bool) {
        board.remove(metainfo.infoHash.hex)
        guard !stopping, let download = downloads[metainfo.infoHash] else { return }
        logger.info("verified existing data", metadata: [
            "event": "data.verified", "torrent": .string(metainfo.info.name), "info_hash": .string(metainfo.infoHash.hex),
            "pieces": .stringConvertible(have.setCount), "of": .stringConvertible(have.count),
        ])
        if requireComplete, !have.isComplete {
            downloads[metainfo.infoHash] = nil
            if download.inboxPath == nil {
                // A finished download whose data changed since: no longer seeded.
                unlink(SeedingRecord.path(for: metainfo.infoHash, stateDirectory: configuration.stateDirectory))
                logger.warning("finished download changed on disk; not seeding it", metadata: [
                    "event": "download.changed", "torrent": .string(metainfo.info.name), "path": .string(storage.finalPath),
                ])
                return
            }
            let reason = "\(storage.finalPath) already exists and is not this torrent's data "
                + "(\(have.count - have.setCount) of \(have.count) pieces differ); move it away and drop the .mtorrent again"
            if let inboxPath = download.inboxPath { refuse(inboxPath, reason: reason) }
            return
        }
        startDownload(metainfo, storage: storage, have: have)
    }

    private func startDownload(_ metainfo: Metainfo, storage: TorrentStorage, have: Bitfield) {
        let infoHash = metainfo.infoHash
        guard let tracked = startSession(metainfo, storage: storage, have: have, name: metainfo.info.name, origin: "download",
                                         resumePath: resumePath(infoHash)) else {
            // Already running (shared here meanwhile): nothing to fetch.
            if let inboxPath = downloads.removeValue(forKey: infoHash)?.inboxPath { moveInboxFile(inboxPath, to: ".done") }
            return
        }
        tracked.session.whenComplete {
            Task { await self.downloadFinished(infoHash) }
        }
    }

    /// The data is verified, flushed and under its final name in
    /// `download_dir`: record it for restarts, file the `.mtorrent` under
    /// `.done/`, keep seeding.
    private func downloadFinished(_ infoHash: InfoHash) {
        guard !stopping, let download = downloads[infoHash], let tracked = running[infoHash] else { return }
        let storage = tracked.session.storage
        let write = seedingRecord(infoHash, download: download, storage: storage)
        // The record is on disk before the `.mtorrent` leaves the inbox: a
        // crash in between finds it still there (and the data verified).
        Task {
            let failures = await Self.write([write])
            self.recorded(infoHash, finalPath: storage.finalPath, bytes: storage.info.totalLength, failures: failures)
        }
    }

    /// What seeds a finished download again after a restart, for
    /// `state_dir/seeding/`.
    private func seedingRecord(_ infoHash: InfoHash, download: Download, storage: TorrentStorage) -> PendingWrite {
        let have = Bitfield(count: storage.info.pieceCount, allSet: true)
        let record = SeedingRecord(metainfoBytes: download.metainfoBytes, dataPath: storage.finalPath,
                                   resume: ResumeState(infoHash: infoHash, have: have, files: storage.fileStamps()))
        return PendingWrite(bytes: record.encoded(), path: SeedingRecord.path(for: infoHash, stateDirectory: configuration.stateDirectory),
                            mode: 0o600)
    }

    private func recorded(_ infoHash: InfoHash, finalPath: String, bytes: Int64, failures: [String]) {
        for failure in failures {
            logger.error("cannot save state", metadata: ["event": "state.save_failed", "error": .string(failure)])
        }
        guard var download = downloads[infoHash] else { return }
        rmdir("\(configuration.downloadDirectory)/\(Self.stagingDirectoryName)/\(infoHash.hex)")
        if let inboxPath = download.inboxPath {
            if failures.isEmpty {
                moveInboxFile(inboxPath, to: ".done")
                download.inboxPath = nil
                downloads[infoHash] = download
            } else {
                // Without a record, the `.mtorrent` is what brings the data
                // back after a restart (checked, then seeded): it stays.
                logger.warning("download not recorded; its .mtorrent stays in the inbox", metadata: [
                    "event": "download.unrecorded", "torrent": .string(download.name), "info_hash": .string(infoHash.hex),
                ])
            }
        }
        logger.info("download in place; seeding", metadata: [
            "event": "download.finished", "torrent": .string(download.name), "info_hash": .string(infoHash.hex),
            "path": .string(finalPath), "bytes": .stringConvertible(bytes),
        ])
    }

    /// Finished downloads from earlier runs: seeded again, re-verified only
    /// if their files changed since.
    private func restoreFinishedDownloads() {
        let directory = "\(configuration.stateDirectory)/\(SeedingRecord.directoryName)"
        for file in Self.listDirectory(directory) where file.hasSuffix(".state") {
            let path = "\(directory)/\(file)"
            guard let bytes = try? FileIO.readWholeFile(atPath: path, maxBytes: 1 << 30),
                  let (record, metainfo) = SeedingRecord.decode(bytes) else {
                logger.warning("unreadable state file removed", metadata: ["event": "state.invalid", "path": .string(path)])
                unlink(path)
                continue
            }
            guard access(record.dataPath, F_OK) == 0 else {
                logger.info("finished download no longer on disk; not seeding it", metadata: [
                    "event": "download.gone", "torrent": .string(metainfo.info.name), "path": .string(record.dataPath),
                ])
                unlink(path)
                continue
            }
            downloads[metainfo.infoHash] = Download(name: metainfo.info.name, inboxPath: nil, metainfoBytes: record.metainfoBytes)
            let storage = TorrentStorage(info: metainfo.info, location: .existing(path: record.dataPath))
            if record.resume.files == storage.fileStamps() {
                startSession(metainfo, storage: storage, have: record.resume.have, name: metainfo.info.name, origin: "download",
                             resumePath: nil)
            } else {
                verifyThenStart(metainfo, storage: storage, requireComplete: true)
            }
        }
    }

    /// A finished download whose data was deleted stops seeding.
    private func checkFinishedDownloadsStillThere() {
        for (infoHash, download) in downloads where download.inboxPath == nil {
            forgetFinishedDownloadIfGone(infoHash, download: download)
        }
    }

    private func forgetFinishedDownloadIfGone(_ infoHash: InfoHash, download: Download) {
        guard let tracked = running[infoHash], tracked.session.snapshot.isComplete,
              access(tracked.session.storage.finalPath, F_OK) != 0 else { return }
        logger.info("downloaded data removed; torrent stopped", metadata: [
            "event": "download.gone", "torrent": .string(download.name), "info_hash": .string(infoHash.hex),
        ])
        downloads[infoHash] = nil
        stopTorrent(infoHash)
        unlink(SeedingRecord.path(for: infoHash, stateDirectory: configuration.stateDirectory))
    }

    private func refuse(_ path: String, reason: String) {
        logger.warning("inbox file refused", metadata: ["event": "inbox.failed", "path": .string(path), "error": .string(reason)])
        moveInboxFile(path, to: ".failed", note: reason)
    }

    /// Moves an inbox file into `inbox/SUBDIR/`, never over another file.
    /// A `note` is written beside the new name first (`NAME.error`), so the
    /// file never shows there without its reason: a few bytes, not synced
    /// (the log has the reason too), written here rather than after the move.
    @discardableResult
    private func moveInboxFile(_ path: String, to subdirectory: String, note: String? = nil) -> String? {
        let directory = "\(FileIO.directoryName(of: path))/\(subdirectory)"
        mkdir(directory, 0o755)
        guard FileIO.isDirectory(atPath: directory) else {
            // A link planted as `.done`/`.failed` would move files (and
            // write `.error` files) outside the inbox.
            logger.error("cannot move inbox file: not a plain folder", metadata: [
                "event": "inbox.move_failed", "path": .string(path), "error": .string("\(directory) is not a folder (a link?)"),
            ])
            unmovable.insert(path)
            return nil
        }
        let name = String(path.split(separator: "/").last ?? "")
        var target = "\(directory)/\(name)"
        var attempt = 1
        while FileIO.entryExists(atPath: target) || FileIO.entryExists(atPath: target + ".error") {
            attempt += 1
            target = "\(directory)/\(name).\(attempt)"
        }
        var noted = false
        if let note {
            do {
                try FileIO.writeNewFile(Array((note + "\n").utf8), toPath: target + ".error")
                noted = true
            } catch {
                logger.error("cannot write a file", metadata: ["event": "inbox.write_failed", "error": .string("\(error)")])
            }
        }
        guard rename(path, target) == 0 else {
            let reason = String(cString: strerror(errno))
            if noted { unlink(target + ".error") }
            logger.error("cannot move inbox file", metadata: [
                "event": "inbox.move_failed", "path": .string(path), "error": .string(reason),
            ])
            return nil
        }
        return target
    }

    private func resumePath(_ infoHash: InfoHash) -> String {
        "\(configuration.stateDirectory)/resume/\(infoHash.hex).resume"
    }

    // MARK: Sessions

    private func startSeeding(_ metainfo: Metainfo, dataPath: String, name: String, origin: String) -> Bool {
        let storage = TorrentStorage(info: metainfo.info, location: .existing(path: dataPath))
        return startSession(metainfo, storage: storage, have: Bitfield(count: metainfo.info.pieceCount, allSet: true), name: name,
                     origin: origin, resumePath: nil) != nil
    }

    @discardableResult
    private func startSession(_ metainfo: Metainfo, storage: TorrentStorage, have: Bitfield, name: String, origin: String,
                              resumePath: String?) -> TrackedSession? {
        guard let peers, !stopping else { return nil }
        let infoHash = metainfo.infoHash
        guard running[infoHash] == nil else {
            logger.warning("same torrent twice; keeping the one running", metadata: [
                "event": "torrent.duplicate", "torrent": .string(name), "info_hash": .string(infoHash.hex),
            ])
            return nil
        }
        var sessionConfiguration = SessionConfiguration()
        sessionConfiguration.maxPeers = configuration.limits.maxPeersPerTorrent
        sessionConfiguration.waitSeeders = configuration.swarm.waitSeeders
        sessionConfiguration.waitLeechers = configuration.swarm.waitLeechers
        sessionConfiguration.resumePath = resumePath
        let session = TorrentSession(
            metainfo: metainfo, storage: storage, peerID: peerID, configuration: sessionConfiguration,
            loop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger,
            globalUploadLimit: uploadLimit, globalDownloadLimit: downloadLimit)
        peers.add(session, have: have)
        let tracked = TrackedSession(session: session, trackers: metainfo.trackerTiers, port: peers.port, logger: logger)
        tracked.start()
        running[infoHash] = tracked
        board.set(infoHash.hex, .init(name: name, infoHash: infoHash, origin: origin, stage: .active, session: session))
        return tracked
    }

    /// Stops a torrent in the background (announcing `stopped`).
    private func stopTorrent(_ infoHash: InfoHash) {
        board.remove(infoHash.hex)
        guard let tracked = running.removeValue(forKey: infoHash) else { return }
        peers?.remove(tracked.session)
        let id = nextStopID
        nextStopID += 1
        stopsInFlight[id] = Task {
            await tracked.stop()
            self.stopFinished(id)
        }
    }

    private func stopFinished(_ id: Int) {
        stopsInFlight[id] = nil
    }

    // MARK: Configuration

    private func scheduleReload() {
        guard !reloadScheduled else { return }
        reloadScheduled = true
        Task {
            // Editors write in steps (truncate, write, rename): read once settled.
            try? await Task.sleep(for: .milliseconds(200))
            await self.reload(trigger: "file changed")
        }
    }

    /// Reads the configuration file again and applies what changed; an
    /// invalid file is logged (every issue with line:column) and ignored.
    public func reload(trigger: String) async {
        reloadScheduled = false
        guard !stopping, let configurationPath else { return }
        guard !reloading else {
            reloadAgain = trigger
            return
        }
        reloading = true
        defer {
            reloading = false
            if let again = reloadAgain {
                reloadAgain = nil
                Task { await self.reload(trigger: again) }
            }
        }
        let result = ConfigurationLoader.load(path: configurationPath)
        guard let fresh = result.configuration, result.issues.isEmpty else {
            for issue in result.issues {
                logger.error("configuration rejected; the running one stays", metadata: [
                    "event": "config.rejected", "error": .string(issue.description), "trigger": .string(trigger),
                ])
            }
            scheduleListenerRetry(listenerRetry.sections)
            return
        }
        guard let (changes, unapplied) = await apply(fresh) else {
            scheduleListenerRetry(listenerRetry.sections)
            return
        }
        scheduleListenerRetry(unapplied)
        logger.info("configuration reloaded", metadata: [
            "event": "config.reloaded", "trigger": .string(trigger), "changed": .array(changes.map { .string($0) }),
        ])
    }

    /// Listener sections still to move: a rescan reloads again when due
    /// (a file rejected meanwhile also counts as a failed attempt, so an
    /// invalid edit is not logged again at every rescan).
    private func scheduleListenerRetry(_ sections: [String]) {
        guard !sections.isEmpty else {
            listenerRetry = ListenerRetry()
            return
        }
        let failures = listenerRetry.failures + 1
        let wait = BackoffSchedule(initial: .seconds(options.rescanSeconds), maximum: .seconds(600)).seconds(afterFailures: failures)
        listenerRetry = ListenerRetry(sections: sections, failures: failures, at: MonotonicClock.seconds() + wait)
        logger.warning("part of the configuration waits for its addresses", metadata: [
            "event": "config.retry_scheduled", "sections": .array(sections.map { .string($0) }),
            "retry_in_s": .stringConvertible((wait * 10).rounded() / 10),
        ])
    }

    /// Applies a new configuration piece by piece, leaving untouched what
    /// did not change; returns the sections that changed. Everything that
    /// needs no waiting (limits, directories) is done before the first
    /// `await`, so events handled meanwhile see one consistent state; the
    /// listeners move next, then shares are retargeted to the tracker URL
    /// that is in effect (an entry hashed meanwhile follows by itself).
    /// `configuration` holds what runs: a listener's section takes its new
    /// value once it listens there. Returns nil if the file is refused,
    /// else the sections that changed and those whose addresses could not
    /// be bound.
    private func apply(_ fresh: ApplianceConfiguration) async -> (changes: [String], unapplied: [String])? {
        let old = configuration
        var changes: [String] = []
        do {
            try makeDirectories(fresh)
        } catch {
            logger.error("configuration rejected; the running one stays", metadata: [
                "event": "config.rejected", "error": .string("\(error)"),
            ])
            return nil
        }
        let oldURL = announceURL()
        var applied = fresh
        applied.network = old.network
        applied.tracker.embedded = old.tracker.embedded
        applied.status = old.status
        configuration = applied
        board.configuration = applied
        if fresh.limits.uploadKBps != old.limits.uploadKBps || fresh.limits.downloadKBps != old.limits.downloadKBps {
            changes.append("limits")
            applyRates()
            for tracked in running.values { tracked.session.limitsChanged() }
        }
        if fresh.swarm.waitSeeders != old.swarm.waitSeeders || fresh.swarm.waitLeechers != old.swarm.waitLeechers
            || fresh.limits.maxPeersPerTorrent != old.limits.maxPeersPerTorrent {
            changes.append("swarm")
            for tracked in running.values {
                tracked.session.updatePolicy(waitSeeders: fresh.swarm.waitSeeders, waitLeechers: fresh.swarm.waitLeechers,
                                             maxPeers: fresh.limits.maxPeersPerTorrent)
            }
        }
        if fresh.logging != old.logging {
            changes.append("logging")
            LogLevelControl.shared.level = Self.level(fresh.logging.level)
        }
        if fresh.swarm.pieceLength != old.swarm.pieceLength || fresh.swarm.isPrivate != old.swarm.isPrivate {
            changes.append("swarm.new_torrents")
        }
        if fresh.shareDirectory != old.shareDirectory {
            changes.append("share_dir")
            watcher?.unwatch(old.shareDirectory)
            // Every entry is looked at again in the new folder (the same
            // content keeps its torrent, from the cache); the scan removes
            // what the new folder lacks, `.mtorrent` included.
            for name in Array(shares.keys) { retireShare(name) }
            watcher?.watch(fresh.shareDirectory, recursive: true)
            scanShareDirectory()
        }
        if fresh.inboxDirectory != old.inboxDirectory {
            changes.append("inbox_dir")
            watcher?.unwatch(old.inboxDirectory)
            watcher?.watch(fresh.inboxDirectory, recursive: false)
            scanInbox()
        }
        if fresh.downloadDirectory != old.downloadDirectory { changes.append("download_dir") }
        if fresh.stateDirectory != old.stateDirectory {
            changes.append("state_dir")
            saveCatalog()
            // Finished downloads are recorded in the new folder, or the next
            // start (which reads only that one) would not seed them; those
            // whose record is being written too (it goes to the old folder).
            let records = downloads.compactMap { infoHash, download -> PendingWrite? in
                guard let tracked = running[infoHash], tracked.session.snapshot.isComplete else { return nil }
                return seedingRecord(infoHash, download: download, storage: tracked.session.storage)
            }
            writeInBackground(records, failureEvent: "state.save_failed")
        }
        var unapplied: [String] = []
        if fresh.network != old.network, let peers {
            changes.append("network")
            do {
                try await peers.rebind(hosts: try listenHosts(fresh), port: fresh.network.port)
                configuration.network = fresh.network
                for tracked in running.values { await tracked.announcer.setPort(UInt16(clamping: peers.port)) }
            } catch {
                unapplied.append("network")
                logger.error("cannot listen on the new address; peers stay where they were", metadata: [
                    "event": "config.partially_applied", "error": .string("\(error)"),
                ])
            }
        }
        if fresh.tracker.embedded != old.tracker.embedded, !stopping {
            changes.append("tracker.embedded")
            if let error = await moveListener(
                from: old.tracker.embedded.listen, to: fresh.tracker.embedded.listen, defaultPort: Self.defaultTrackerPort,
                current: { self.tracker }, replace: { self.tracker = $0 },
                startNew: { try await self.startTracker(fresh) }, startOld: { try await self.startTracker(old) },
                close: { await $0.shutdown() }) {
                unapplied.append("tracker.embedded")
                logger.error("cannot start the embedded tracker; it stays where it was", metadata: [
                    "event": "tracker.failed", "error": .string("\(error)"),
                ])
            } else {
                configuration.tracker.embedded = fresh.tracker.embedded
            }
        }
        if fresh.status != old.status, !stopping {
            changes.append("status")
            if let error = await moveListener(
                from: old.status.listen, to: fresh.status.listen, defaultPort: Self.defaultStatusPort,
                current: { self.statusServer }, replace: { self.statusServer = $0 },
                startNew: { try await self.startStatusServer(fresh) }, startOld: { try await self.startStatusServer(old) },
                close: { await $0.close() }) {
                unapplied.append("status")
                logger.error("cannot start the status server; it stays where it was", metadata: [
                    "event": "status.failed", "error": .string("\(error)"),
                ])
            } else {
                configuration.status = fresh.status
            }
        }
        board.configuration = configuration
        // After the listeners: the URL of an embedded tracker that could
        // not move is still the old one.
        let newURL = announceURL()
        if newURL != oldURL || fresh.torrentDirectory != old.torrentDirectory {
            if newURL != oldURL { changes.append("tracker.url") }
            if fresh.torrentDirectory != old.torrentDirectory { changes.append("torrent_dir") }
            retargetShares(announceURL: newURL, moved: newURL != oldURL)
        }
        return (changes, unapplied)
    }

    /// Moves a listener (status server, embedded tracker) to its new
    /// address. The new one is bound before the old one closes, so an
    /// address that is refused leaves the old one serving, the tracker's
    /// swarms included; only when both use the same port (a host change)
    /// is the old one closed first, and bound again if the new one still
    /// fails. Returns why the new address was refused, or nil.
    private func moveListener<Server: Sendable>(
        from oldListen: String, to newListen: String, defaultPort: Int, current: () -> Server?, replace: (Server?) -> Void,
        startNew: () async throws -> Server?, startOld: () async throws -> Server?, close: (Server) async -> Void
    ) async -> (any Error)? {
        func install(_ started: Server?) async {
            // A stop meanwhile closed the one it found; this one is extra.
            if stopping {
                if let started { await close(started) }
                return
            }
            let previous = current()
            replace(started)
            if let previous { await close(previous) }
        }
        let refusal: any Error
        do {
            await install(try await startNew())
            return nil
        } catch {
            refusal = error
        }
        let port = { (listen: String) in HostPort.parse(listen).map { $0.port ?? defaultPort } }
        guard port(newListen) == port(oldListen), !stopping else { return refusal }
        let previous = current()
        replace(nil)
        if let previous { await close(previous) }
        do {
            await install(try await startNew())
            return nil
        } catch {
            await install(try? await startOld())
            return error
        }
    }

    private static let defaultTrackerPort = 6969
    private static let defaultStatusPort = 6880


    /// Shared torrents' `.mtorrent` files rewritten into `torrent_dir`
    /// announcing to `announceURL` (the info-hash does not change); with
    /// `moved`, their announcers switch to it too.
    private func retargetShares(announceURL: String, moved: Bool) {
        var writes: [PendingWrite] = []
        for (name, share) in shares {
            guard let infoHash = share.infoHash, let tracked = running[infoHash] else { continue }
            let metainfo = tracked.session.metainfo.announcing(to: announceURL)
            writes.append(PendingWrite(bytes: metainfo.encoded(), path: torrentPath(name)))
            if moved { Task { await tracked.setTrackers([[announceURL]]) } }
        }
        writeInBackground(writes, failureEvent: "share.write_failed")
    }

    /// A share of the previous `share_dir`: stopped, its cache entry and
    /// `.mtorrent` kept for the scan of the new one, which seeds it again
    /// from the cache if the new folder has the same entry unchanged, and
    /// removes both if it has none.
    private func retireShare(_ name: String) {
        queued.remove(name)
        board.remove("share:\(name)")
        if let infoHash = shares.removeValue(forKey: name)?.infoHash { stopTorrent(infoHash) }
    }

    private func applyRates() {
        uploadLimit.setRate(bytesPerSecond: Double(configuration.limits.uploadKBps) * 1000)
        downloadLimit.setRate(bytesPerSecond: Double(configuration.limits.downloadKBps) * 1000)
    }

    private func startTracker(_ configuration: ApplianceConfiguration) async throws -> TrackerServer? {
        let embedded = configuration.tracker.embedded
        guard embedded.enabled else { return nil }
        guard let (host, port) = HostPort.parse(embedded.listen).map({ ($0.host, $0.port ?? Self.defaultTrackerPort) }) else {
            throw ApplianceError("tracker.embedded.listen: cannot read \(embedded.listen)")
        }
        var trackerConfiguration = TrackerConfiguration()
        trackerConfiguration.interval = embedded.announceIntervalSeconds
        trackerConfiguration.peerTimeout = embedded.peerTimeoutSeconds
        do {
            return try await TrackerServer.start(host: host, port: port, configuration: trackerConfiguration, logger: logger)
        } catch {
            throw ApplianceError("cannot start the embedded tracker on \(embedded.listen): \(error)")
        }
    }

    private func startStatusServer(_ configuration: ApplianceConfiguration) async throws -> StatusServer {
        guard let (host, port) = HostPort.parse(configuration.status.listen).map({ ($0.host, $0.port ?? Self.defaultStatusPort) }) else {
            throw ApplianceError("status.listen: cannot read \(configuration.status.listen)")
        }
        do {
            let server = try await StatusServer.start(host: host, port: port, report: report, logger: logger)
            logger.info("status server listening", metadata: ["event": "status.started", "listen": .string(server.address)])
            return server
        } catch {
            throw ApplianceError("cannot start the status server on \(configuration.status.listen): \(error)")
        }
    }

    /// The addresses of `network.interfaces`, or all addresses.
    private func listenHosts(_ configuration: ApplianceConfiguration) throws -> [String] {
        guard !configuration.network.interfaces.isEmpty else { return ["0.0.0.0"] }
        return try configuration.network.interfaces.map { interface in
            guard let address = try InterfaceAddress.ipv4(of: interface) else {
                throw ApplianceError("network.interfaces: \(interface) has no IPv4 address")
            }
            return address
        }
    }

    /// `tracker.url`, or the embedded tracker on the first interface's
    /// address (SPEC section 5).
    private func announceURL() -> String {
        if let url = configuration.tracker.url { return url }
        let listen = HostPort.parse(configuration.tracker.embedded.listen)
        var host = listen?.host ?? "0.0.0.0"
        if host == "0.0.0.0" || host == "::" {
            let first = configuration.network.interfaces.first.flatMap { try? InterfaceAddress.ipv4(of: $0) }
            host = first ?? InterfaceAddress.firstNonLoopbackIPv4() ?? "127.0.0.1"
        }
        return "http://\(HostPort.format(host: host, port: listen?.port ?? Self.defaultTrackerPort))/announce"
    }

    private func makeDirectories(_ configuration: ApplianceConfiguration) throws {
        let state = configuration.stateDirectory
        for directory in [
            configuration.shareDirectory, configuration.inboxDirectory, configuration.downloadDirectory,
            configuration.torrentDirectory, state, "\(state)/resume", "\(state)/\(SeedingRecord.directoryName)",
        ] {
            do throws(FileIOError) {
                try FileIO.makeDirectories(atPath: directory)
            } catch {
                throw ApplianceError("\(error)")  // "PATH: cannot create directory: REASON"
            }
        }
    }

    // MARK: State

    private func scheduleCatalogSave() {
        guard !catalogSaveScheduled else { return }
        catalogSaveScheduled = true
        Task {
            // Batched: a first start with thousands of files writes it a
            // few times, not once per file.
            try? await Task.sleep(for: .seconds(1))
            self.saveCatalog()
        }
    }

    /// Writes the cache off the actor (it is fsynced), in order with the
    /// other background writes.
    @discardableResult
    private func saveCatalog() -> Task<Void, Never> {
        catalogSaveScheduled = false
        let write = PendingWrite(bytes: catalog.encoded(), path: "\(configuration.stateDirectory)/\(ShareCatalog.fileName)", mode: 0o600)
        return writeInBackground([write], failureEvent: "state.save_failed")
    }

    // MARK: Helpers


    public static func level(_ level: ApplianceConfiguration.Logging.Level) -> Logger.Level {
        switch level {
        case .error: return .error
        case .warning: return .warning
        case .info: return .info
        case .debug: return .debug
        case .trace: return .trace
        }
    }

    static func listDirectory(_ path: String) -> [String] {
        DirectoryEntries.read(path).map(\.name)
    }

    /// A state or `.mtorrent` file to write crash-safely.
    struct PendingWrite: Sendable {
        let bytes: [UInt8]
        let path: String
        var mode: mode_t = 0o644
    }

    /// Writes files atomically (temp, fsync, rename) off the actor, in
    /// order; returns what failed, in words.
    static func write(_ writes: [PendingWrite]) async -> [String] {
        guard !writes.isEmpty else { return [] }
        return await offLoop {
            writes.compactMap { write in
                do {
                    try FileIO.writeAtomically(write.bytes, toPath: write.path, mode: write.mode)
                    return nil
                } catch {
                    return "\(write.path): \(error)"
                }
            }
        }
    }

    /// Runs blocking work (hashing, verifying) on a global queue.
    static func offLoop<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
