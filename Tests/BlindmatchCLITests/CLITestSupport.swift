import BlindmatchTestSupport
import Foundation
import Glibc

/// Runs the built `blindmatch` binary, as a user would.
enum CLI {
    static let repositoryRoot = RepositoryFile.root

    static let binary: String = {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("blindmatch").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("blindmatch").path,
            repositoryRoot.appendingPathComponent(".build/debug/blindmatch").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[2]
    }()

    struct Result {
        let status: Int32
        let output: String
        let error: String
    }

    @discardableResult
    static func run(
        _ arguments: [String], in directory: String, input: String? = nil, environment: [String: String] = [:]
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        let error = Pipe()
        let standardInput = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = standardInput
        try process.run()
        if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
        try standardInput.fileHandleForWriting.close()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            error: String(decoding: errorData, as: UTF8.self))
    }

    static func repositoryPath(_ relative: String) -> String { repositoryRoot.appendingPathComponent(relative).path }
}

/// A scratch folder for one test.
final class Scratch {
    let path: String

    init() throws {
        var template = Array("/tmp/blindmatch-cli.XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = String(cString: created)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String, mode: Int = 0o644) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(path)/\(name)"))
        chmod("\(path)/\(name)", mode_t(mode))
    }

    func contents() throws -> Set<String> { Set(try FileManager.default.contentsOfDirectory(atPath: path)) }

    /// A linkage secret and a signing key pair made with the CLI itself.
    func makeKeys() throws {
        try CLI.run(["keygen", "--output", "project.secret"], in: path)
        try CLI.run(["keygen", "--signing", "--output", "agency"], in: path)
    }
}
