// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for MicroTorr's decoders of untrusted input, built with
// `-sanitize=fuzzer,address` by `Fuzz/run` (a separate package: a fuzzer's
// entry point is libFuzzer's driver, which the main package's builds must
// not link).
let package = Package(
    name: "MicroTorrFuzz",
    dependencies: [
        .package(name: "MicroTorr", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzBencode", dependencies: ["FuzzDriver", .product(name: "Bencode", package: "MicroTorr")]),
        .executableTarget(name: "FuzzMetainfo", dependencies: ["FuzzDriver", .product(name: "Metainfo", package: "MicroTorr")]),
        .executableTarget(
            name: "FuzzPeerWire",
            dependencies: [
                "FuzzDriver", .product(name: "PeerWire", package: "MicroTorr"), .product(name: "Metainfo", package: "MicroTorr"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "FuzzTrackerQuery",
            dependencies: ["FuzzDriver", .product(name: "TrackerKit", package: "MicroTorr"), .product(name: "Logging", package: "swift-log")]),
    ]
)
