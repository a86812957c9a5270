// swift-tools-version: 6.0
// Builds apple/swift-openapi-generator for Scripts/generate-contract.sh, outside the main package so that its
// build (OpenAPIKit, Yams, swift-syntax-free) never lands in an ordinary `swift build`.
import PackageDescription

let package = Package(
    name: "contract-generator",
    dependencies: [.package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3")],
    targets: []
)
