// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "blindmatch",
    products: [
        // The agency-side library: the protocol alone, without the server's dependencies.
        .library(name: "BlindmatchProtocol", targets: ["BlindmatchProtocol"]),
        .library(name: "BlindmatchMatching", targets: ["BlindmatchMatching"]),
        // The auditor's library: reading and verifying the matcher's audit log (SPEC §10).
        .library(name: "BlindmatchAudit", targets: ["BlindmatchAudit"]),
        // What the agency runs on its own machine: CSV reading, the tokenising pipeline, and the privacy assessment.
        .library(name: "BlindmatchAgency", targets: ["BlindmatchAgency"]),
        .library(name: "BlindmatchAssessment", targets: ["BlindmatchAssessment"]),
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
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The runtime that the contract's generated types (Sources/BlindmatchContract/Generated) are written against.
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        // The web console's server-rendered pages (Sources/BlindmatchServer/Console).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // The shared store of several servers (`serve --database postgres://…`, Storage/Postgres).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
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
        // CSV input (SPEC §2.4) and the tokenising pipeline: agency-side, so the protocol alone (no CSV there).
        .target(name: "BlindmatchAgency", dependencies: ["BlindmatchProtocol"]),
        // `blindmatch assess`: attacks on what the matcher holds, scored against the agency's own plaintext.
        .target(
            name: "BlindmatchAssessment",
            dependencies: ["BlindmatchProtocol", "BlindmatchAgency", "BlindmatchMatching"]
        ),
        // The Dice kernel in C, so that POPCNT and AVX-512 can be chosen at run time (SPEC-independent; DESIGN
        // "Kernel"): Swift cannot mark single functions for a target feature.
        .target(name: "CBlindmatchKernels"),
        .target(
            name: "BlindmatchMatching",
            dependencies: ["BlindmatchProtocol", "CBlindmatchKernels"]
        ),
        // SPEC §10, the audit log: what an auditor's tool needs, without the server's HTTP and storage.
        .target(name: "BlindmatchAudit", dependencies: ["BlindmatchProtocol"]),
        // Synthetic ground truth (`blindmatch synth`): the typo model and name lists, which the server does not need.
        .target(
            name: "BlindmatchSynthetic",
            dependencies: ["BlindmatchProtocol"]
        ),
        // The service's wire types, generated from Protocol/openapi.yaml (Scripts/generate-contract.sh) and shared
        // by the server and the CLI's client, with the encoder that writes them as the contract asks.
        .target(
            name: "BlindmatchContract",
            dependencies: [
                "BlindmatchProtocol",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ]
        ),
        .target(
            name: "BlindmatchServer",
            dependencies: [
                "BlindmatchContract",
                "BlindmatchMatching",
                "BlindmatchAudit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .executableTarget(
            name: "blindmatch",
            dependencies: [
                "BlindmatchProtocol",
                "BlindmatchAgency",
                "BlindmatchAssessment",
                "BlindmatchMatching",
                "BlindmatchAudit",
                "BlindmatchSynthetic",
                "BlindmatchServer",
                "BlindmatchContract",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // What every test target shares: finding the repository's vectors and keys in place.
        .target(
            name: "BlindmatchTestSupport", dependencies: ["BlindmatchProtocol"], path: "Tests/BlindmatchTestSupport"),
        .testTarget(
            name: "BlindmatchProtocolTests",
            dependencies: ["BlindmatchProtocol", "BlindmatchTestSupport"]
        ),
        .testTarget(
            name: "BlindmatchAgencyTests",
            dependencies: ["BlindmatchAgency", "BlindmatchProtocol", "BlindmatchTestSupport"]
        ),
        .testTarget(
            name: "BlindmatchAssessmentTests",
            dependencies: ["BlindmatchAssessment", "BlindmatchAgency", "BlindmatchProtocol", "BlindmatchSynthetic"]
        ),
        .testTarget(
            name: "BlindmatchMatchingTests",
            dependencies: ["BlindmatchMatching", "BlindmatchSynthetic", "BlindmatchTestSupport"]
        ),
        .testTarget(
            name: "BlindmatchSyntheticTests",
            dependencies: ["BlindmatchSynthetic"]
        ),
        .testTarget(name: "BlindmatchAuditTests", dependencies: ["BlindmatchAudit", "BlindmatchTestSupport"]),
        .testTarget(
            name: "BlindmatchContractTests",
            dependencies: [
                "BlindmatchContract", "BlindmatchProtocol", "BlindmatchTestSupport",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "BlindmatchCLITests",
            // Depends on the executable so that `swift test` builds the binary these tests drive.
            dependencies: [
                "BlindmatchProtocol", "BlindmatchMatching", "BlindmatchServer", "BlindmatchContract", "BlindmatchAudit",
                "blindmatch", "BlindmatchTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // The service's contract is YAML (Protocol/openapi.yaml); the tests hold responses to its schemas.
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
