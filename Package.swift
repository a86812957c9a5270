// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "blindmatch",
    products: [
        // The agency-side library: the protocol alone, without the server's dependencies.
        .library(name: "BlindmatchProtocol", targets: ["BlindmatchProtocol"]),
        .library(name: "BlindmatchMatching", targets: ["BlindmatchMatching"]),
        .library(name: "BlindmatchSynthetic", targets: ["BlindmatchSynthetic"]),
        .executable(name: "blindmatch", targets: ["blindmatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Already resolved through Hummingbird and AsyncHTTPClient; named because the code imports them directly.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "BlindmatchProtocol",
            dependencies: ["COpenSSL"]
        ),
        // The Dice kernel in C, so that POPCNT and AVX-512 can be chosen at run time (SPEC-independent; DESIGN
        // "Kernel"): Swift cannot mark single functions for a target feature.
        .target(name: "CBlindmatchKernels"),
        .target(
            name: "BlindmatchMatching",
            dependencies: ["BlindmatchProtocol", "CBlindmatchKernels"]
        ),
        // Synthetic ground truth (`blindmatch synth`): the typo model and name lists, which the server does not need.
        .target(
            name: "BlindmatchSynthetic",
            dependencies: ["BlindmatchProtocol"]
        ),
        .target(
            name: "BlindmatchServer",
            dependencies: [
                "BlindmatchMatching",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "blindmatch",
            dependencies: [
                "BlindmatchProtocol",
                "BlindmatchMatching",
                "BlindmatchSynthetic",
                "BlindmatchServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BlindmatchProtocolTests",
            dependencies: ["BlindmatchProtocol"]
        ),
        .testTarget(
            name: "BlindmatchMatchingTests",
            dependencies: ["BlindmatchMatching", "BlindmatchSynthetic"]
        ),
        .testTarget(
            name: "BlindmatchSyntheticTests",
            dependencies: ["BlindmatchSynthetic"]
        ),
        .testTarget(name: "BlindmatchServerTests", dependencies: ["BlindmatchServer"]),
        .testTarget(
            name: "BlindmatchCLITests",
            // Depends on the executable so that `swift test` builds the binary these tests drive.
            dependencies: [
                "BlindmatchProtocol", "BlindmatchServer", "blindmatch",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // The service's contract is YAML (Protocol/openapi.yaml); the tests hold responses to its schemas.
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
