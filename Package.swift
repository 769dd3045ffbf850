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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .target(name: "Bencode"),
        .target(
            name: "Metainfo",
            dependencies: [
                "Bencode",
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers shared by the test targets: temp dirs, running real processes.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "BencodeTests", dependencies: ["Bencode"]),
        .testTarget(
            name: "MetainfoTests",
            dependencies: ["Metainfo", "Bencode", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "MicroTorrCLITests", dependencies: ["Bencode", "TestSupport"]),
    ]
)
