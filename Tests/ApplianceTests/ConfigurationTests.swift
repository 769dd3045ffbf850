import Foundation
import Testing
@testable import Appliance
import TestSupport

@Suite("Configuration")
struct ConfigurationTests {
    static func load(_ text: String) -> ConfigurationLoader.Result {
        ConfigurationLoader.load(text: text, file: "test.yaml", checkDirectories: false)
    }

    @Test func theDocumentedDefaultFileLoadsAsTheDefaults() throws {
        let path = "\(ProcessRunner.repositoryRoot)/etc/microtorr.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let result = Self.load(text)
        #expect(result.issues.isEmpty, "\(result.issues)")
        #expect(result.configuration == ApplianceConfiguration())
    }

    @Test func anEmptyFileMeansEveryDefault() {
        #expect(Self.load("").configuration == ApplianceConfiguration())
        #expect(Self.load("# nothing\n").configuration == ApplianceConfiguration())
    }

    /// The status server shows every torrent and its peers: by default it
    /// answers on this machine only.
    @Test func theStatusServerDefaultsToLoopback() {
        #expect(ApplianceConfiguration().status.listen == "127.0.0.1:6880")
        #expect(Self.load("status: {}\n").configuration?.status.listen == "127.0.0.1:6880")
    }

    @Test func everyKeyIsRead() throws {
        let result = Self.load("""
            share_dir: /a/share
            inbox_dir: /a/inbox
            download_dir: /a/dl
            torrent_dir: /a/t
            state_dir: /a/state
            tracker:
              url: http://10.0.0.1:7000/announce
              embedded: {enabled: false, listen: "127.0.0.1:7000", announce_interval_s: 5, peer_timeout_s: 60}
            network: {interfaces: [eth1, wlan0], port: 7001}
            limits: {upload_kbps: 3000, download_kbps: 500, max_peers_per_torrent: 20}
            swarm: {wait_seeders: 0, wait_leechers: 2, piece_length: 1M, private: true}
            logging: {level: debug, format: text}
            status: {listen: "0.0.0.0:7002"}
            """)
        #expect(result.issues.isEmpty, "\(result.issues)")
        let config = try #require(result.configuration)
        #expect(config.shareDirectory == "/a/share" && config.stateDirectory == "/a/state" && config.torrentDirectory == "/a/t")
        #expect(config.tracker.url == "http://10.0.0.1:7000/announce")
        #expect(config.tracker.embedded == .init(enabled: false, listen: "127.0.0.1:7000", announceIntervalSeconds: 5, peerTimeoutSeconds: 60))
        #expect(config.network.interfaces == ["eth1", "wlan0"] && config.network.port == 7001)
        #expect(config.limits.uploadKBps == 3000 && config.limits.downloadKBps == 500 && config.limits.maxPeersPerTorrent == 20)
        #expect(config.swarm.waitSeeders == 0 && config.swarm.waitLeechers == 2 && config.swarm.pieceLength == .fixed(1 << 20))
        #expect(config.swarm.isPrivate)
        #expect(config.logging.level == .debug && config.logging.format == .text)
        #expect(config.status.listen == "0.0.0.0:7002")
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        let result = Self.load("limits:\n  upload_kbps: 10\n   download_kbps: [1, 2\n")
        #expect(result.configuration == nil)
        #expect(result.issues.count == 1)
        #expect(result.issues.first?.mark.line == 3, "\(result.issues)")
        #expect(result.issues.first?.description.hasPrefix("test.yaml:3:") == true)
    }

    @Test func everyProblemIsReportedWithItsPosition() {
        let result = Self.load("""
            share_dri: /x
            limits:
              upload_kbps: fast
              download_kbps: -1
              max_peers_per_torrent: 0
            network:
              port: 70000
              interfaces: eth0
            logging:
              level: loud
            swarm:
              piece_length: 1000
            tracker:
              url: ftp://x/announce
              embedded:
                listen: nowhere
                enabled: maybe
            status: [1]
            """)
        #expect(result.configuration == nil)
        let lines = result.issues.map(\.description)
        #expect(lines.contains("test.yaml:1:1: unknown key 'share_dri' (did you mean 'share_dir'?)"), "\(lines)")
        #expect(lines.contains("test.yaml:3:16: limits.upload_kbps must be a whole number (got 'fast')"), "\(lines)")
        #expect(lines.contains("test.yaml:4:18: limits.download_kbps must be from 0 to 10000000 (got -1)"), "\(lines)")
        #expect(lines.contains("test.yaml:5:26: limits.max_peers_per_torrent must be from 1 to 10000 (got 0)"), "\(lines)")
        #expect(lines.contains("test.yaml:7:9: network.port must be from 1 to 65535 (got 70000)"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("test.yaml:8:15: network.interfaces must be a list") }, "\(lines)")
        #expect(lines.contains("test.yaml:10:10: logging.level must be one of error | warning | info | debug | trace (got 'loud')"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("test.yaml:12:17: swarm.piece_length: piece length must be a power of two") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("test.yaml:14:8: tracker.url:") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("test.yaml:16:13: tracker.embedded.listen must be HOST:PORT") }, "\(lines)")
        #expect(lines.contains("test.yaml:17:14: tracker.embedded.enabled must be true or false (got 'maybe')"), "\(lines)")
        #expect(lines.contains("test.yaml:18:9: status must be a mapping of keys, not a list"), "\(lines)")
        #expect(lines.count == 12, "\(lines)")
    }

    @Test func duplicateKeysAndAliasesAreRefused() {
        let duplicate = Self.load("limits:\n  upload_kbps: 1\n  upload_kbps: 2\n")
        #expect(duplicate.issues.map(\.description) == ["test.yaml:3:3: duplicate key 'upload_kbps' (first at line 2)"])
        let alias = Self.load("limits: &l {upload_kbps: 1}\nswarm: *l\n")
        #expect(alias.configuration == nil && alias.issues.count == 1)
        #expect(Self.load("a: 1\n---\nb: 2\n").configuration == nil)
    }

    @Test func quotedNumbersAreNotNumbers() {
        let result = Self.load("network:\n  port: \"6881\"\n")
        #expect(result.issues.map(\.message) == ["network.port must be a whole number (got '6881')"])
    }

    @Test func directoriesThatCannotBeCreatedAreErrors() throws {
        let directory = TemporaryDirectory()
        _ = try directory.write([1], to: "file")
        _ = try directory.write([1], to: "file2")
        let text = """
            share_dir: \(directory.path)/file
            inbox_dir: \(directory.path)/new/inbox
            download_dir: \(directory.path)/file2/under
            torrent_dir: \(directory.path)/torrents
            state_dir: \(directory.path)/state
            """
        let result = ConfigurationLoader.load(text: text, file: "c.yaml")
        let lines = result.issues.map(\.description)
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.contains("c.yaml:1:12: share_dir \(directory.path)/file: exists and is not a directory"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("c.yaml:3:15: download_dir") && $0.contains("cannot be created") }, "\(lines)")
        #expect(!lines.contains { $0.contains("inbox_dir") })
    }

    /// The daemon writes into torrent_dir, state_dir and download_dir: any
    /// of them inside the share would be shared and rehashed at each write.
    @Test func nestedOrSharedDirectoriesAreErrors() {
        let text = """
            share_dir: /srv/box/share
            inbox_dir: /srv/box/inbox
            download_dir: /srv/box/downloads
            torrent_dir: /srv/box/share/torrents
            state_dir: /srv/box/inbox/
            """
        let lines = ConfigurationLoader.load(text: text, file: "c.yaml", checkDirectories: false).issues.map(\.description)
        #expect(lines == [
            "c.yaml:4:14: torrent_dir /srv/box/share/torrents and share_dir /srv/box/share must be separate directories, neither inside the other",
            "c.yaml:5:12: state_dir /srv/box/inbox and inbox_dir /srv/box/inbox must be separate directories, neither inside the other",
        ], "\(lines)")
        #expect(ConfigurationLoader.overlap("/srv/a", "/srv/ab") == false)
        #expect(ConfigurationLoader.overlap("/srv/a", "/srv/a/b"))
        // Directories come without trailing slashes, as the daemon names them.
        #expect(Self.load("share_dir: /srv/a//\n").configuration?.shareDirectory == "/srv/a")
    }

    @Test func didYouMeanOnlyForCloseNames() {
        #expect(ConfigurationDecoder.editDistance("upload_kpbs", "upload_kbps") == 2)
        let far = Self.load("zzz: 1\n")
        #expect(far.issues.map(\.message) == ["unknown key 'zzz'"])
    }
}
