// swift-tools-version:6.0
import PackageDescription

// Layers, each depending only downwards (see README "Architecture"):
//   Bencode → Metainfo → (TrackerKit, PeerWire) → Engine → Appliance → microtorr
let package = Package(
    name: "MicroTorr",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "microtorr", targets: ["microtorr"]),
        .library(name: "Bencode", targets: ["Bencode"]),
        .library(name: "Metainfo", targets: ["Metainfo"]),
        .library(name: "TrackerKit", targets: ["TrackerKit"]),
        .library(name: "PeerWire", targets: ["PeerWire"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Appliance", targets: ["Appliance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .target(name: "Bencode"),
        .systemLibrary(name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .target(
            name: "Appliance",
            dependencies: [
                "CYAML",
                "Bencode",
                "Metainfo",
                "PeerWire",
                "TrackerKit",
                "Engine",
                "MicroTorrLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Metainfo",
            dependencies: [
                "Bencode",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "TrackerKit",
            dependencies: [
                "Bencode",
                "Metainfo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "PeerWire",
            dependencies: [
                "Metainfo",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Engine",
            dependencies: [
                "Bencode",
                "Metainfo",
                "PeerWire",
                "TrackerKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "MicroTorrLogging",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "microtorr",
            dependencies: [
                "Bencode",
                "Metainfo",
                "MicroTorrLogging",
                "TrackerKit",
                "PeerWire",
                "Engine",
                "Appliance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers shared by the test targets: temp dirs, running real processes.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "BencodeTests", dependencies: ["Bencode"]),
        .testTarget(name: "ApplianceTests", dependencies: ["Appliance", "Engine", "Metainfo", "MicroTorrLogging", "PeerWire", "TestSupport"]),
        .testTarget(
            name: "MetainfoTests",
            dependencies: ["Metainfo", "Bencode", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "TrackerKitTests",
            dependencies: [
                "TrackerKit", "Bencode", "Metainfo", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PeerWireTests",
            dependencies: [
                "PeerWire", "Metainfo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: [
                "Engine", "PeerWire", "Metainfo", "TestSupport", "TrackerKit",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "MicroTorrCLITests", dependencies: ["Bencode", "Metainfo", "TestSupport"]),
    ]
)
