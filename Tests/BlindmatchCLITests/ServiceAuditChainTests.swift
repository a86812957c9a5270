import BlindmatchProtocol
import Foundation
import GRDB
import Glibc
import Testing

@testable import BlindmatchServer

/// The service follows its own audit chain: it verifies the stored log at start and before each checkpoint it signs,
/// and refuses to extend or sign a log changed behind its back (issue 10).
@Suite struct ServiceAuditChainTests {
    /// Changes one character of the hash of the entry at `seq`, as someone with write access to the store could.
    static func tamper(_ dataDirectory: String, seq: Int) throws {
        let database = try DatabaseQueue(path: dataDirectory + "/blindmatch.sqlite")
        try database.write { db in
            let line = try #require(
                try Data.fetchOne(db, sql: "SELECT line FROM audit WHERE seq = ?", arguments: [seq]))
            var bytes = [UInt8](line)
            let marker = Array(#""hash":""#.utf8)
            let at = try #require(bytes.indices.first { bytes[$0...].starts(with: marker) }) + marker.count
            bytes[at] = bytes[at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            try db.execute(sql: "UPDATE audit SET line = ? WHERE seq = ?", arguments: [Data(bytes), seq])
        }
    }

    @Test func aLogChangedBehindTheServiceIsNeitherSignedNorExtended() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let directory = data.scratch.path + "/server"
        let tokenFile = data.scratch.path + "/operator.token"
        let server = try await InProcessServer(
            dataDirectory: directory, operatorTokenFile: tokenFile, executor: EngineRunExecutor(threads: 1))
        let project = try await ServiceProject.create(on: server, data: data)
        let first = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken)
        #expect(first.status == 200)
        let checkpoints = first.text.components(separatedBy: #""checkpoint""#).count - 1
        #expect(checkpoints == 1)
        // Every action by a token holder names the token it acted with (its public id, never the token).
        let me = try await HTTP.request(.GET, server.baseURL + "/me", token: try server.operatorToken)
        let operatorTokenID = try #require(me.json?["tokenId"]?.stringValue)
        let entries = first.text.split(separator: "\n").compactMap {
            try? JSONValue(parsing: Array($0.utf8), source: "log")
        }
        let created = try #require(entries.first { $0["action"]?.stringValue == "project.created" })
        #expect(created["details"]?["byToken"]?.stringValue == operatorTokenID)
        let exported = try #require(entries.first { $0["action"]?.stringValue == "audit.exported" })
        #expect(exported["details"]?["byToken"]?.stringValue?.hasPrefix("t-") == true)
        #expect(exported["details"]?["byToken"]?.stringValue != operatorTokenID)
        #expect(!first.text.contains(try server.operatorToken))

        // Behind the running service: the export's checkpoint is refused, and nothing is signed.
        try Self.tamper(directory, seq: 1)
        let refused = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken)
        #expect(refused.status == 500, "\(refused.text)")
        #expect(!refused.text.contains("hash"))
        let database = try DatabaseQueue(path: directory + "/blindmatch.sqlite")
        let signed = try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit WHERE action = 'checkpoint'") ?? 0
        }
        #expect(signed == 1)
        await server.stop()

        // At the next start: the service does not start on a log that does not verify, and names where it breaks.
        await #expect {
            _ = try await InProcessServer(
                dataDirectory: directory, operatorTokenFile: tokenFile, executor: EngineRunExecutor(threads: 1))
        } throws: { error in
            guard let error = error as? ServerError else { return false }
            return error.code == .auditChain && error.reason.contains("seq 1")
        }
    }
}

extension ServiceAuditChainTests {
    @Test func theCheckpointKeyMayLiveOutsideTheDataDirectoryAndMustBePrivate() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let keyPath = data.scratch.path + "/elsewhere/matcher.key"
        try FileManager.default.createDirectory(
            atPath: data.scratch.path + "/elsewhere", withIntermediateDirectories: true)
        let key = try SigningKey.generate()
        let file = try AtomicFile(destination: keyPath, mode: 0o644)
        try file.write(try key.privateKeyPEM())
        try file.commit()
        func start() async throws -> InProcessServer {
            try await InProcessServer(
                for: data, executor: EngineRunExecutor(threads: 1)
            ) { $0.checkpointKeyFile = keyPath }
        }
        // Others could read it: refused, naming the option.
        await #expect {
            _ = try await start()
        } throws: { error in
            (error as? ServerError)?.reason.hasPrefix("--checkpoint-key") == true
        }
        chmod(keyPath, 0o600)
        let server = try await start()
        let published = try await HTTP.request(
            .GET, server.baseURL + "/audit/public-key", token: try server.operatorToken)
        #expect(published.json?["fingerprint"]?.stringValue == key.publicKey.fingerprint)
        #expect(!FileIO.exists(data.scratch.path + "/server/matcher.key"))
        await server.stop()
    }
}
