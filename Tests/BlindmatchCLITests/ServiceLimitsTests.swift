import BlindmatchProtocol
import Foundation
import GRDB
import Glibc
import Testing

@testable import BlindmatchServer

/// A raw TCP connection to a loopback port, for clients that misbehave on purpose (idle, slow). One task uses it at a
/// time.
final class RawConnection: @unchecked Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ServiceTestError("no socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw ServiceTestError("cannot connect")
        }
    }

    deinit { close(descriptor) }

    /// The head of the watch-list party's upload of `length` bytes to `project`, for a body sent by hand.
    static func uploadHead(project: ServiceProject, length: Int) -> [UInt8] {
        Array(
            """
            POST /projects/\(project.id)/parties/agency-a/uploads HTTP/1.1\r
            Host: 127.0.0.1\r
            Authorization: Bearer \(project.watchlistToken)\r
            Content-Type: application/vnd.blindmatch.tokens\r
            Content-Length: \(length)\r
            \r

            """.utf8)
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// What arrives within `seconds`: until one whole response (head and its `Content-Length` of body) is in, the
    /// peer closes, or the time runs out.
    /// ``receive(within:)`` on a thread of its own: against a server in this process, a blocking read on one of the
    /// test process's few cooperative threads could keep that server from answering on a loaded machine.
    func response(within seconds: Int) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.receive(within: seconds)) }
        }
    }

    func receive(within seconds: Int) -> (text: String, closed: Bool) {
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(Double(seconds))
        while Date() < deadline {
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return (String(decoding: reply, as: UTF8.self), true) }
            if count > 0 {
                reply += buffer[0..<count]
                if Self.isComplete(reply) { return (String(decoding: reply, as: UTF8.self), false) }
            }
        }
        return (String(decoding: reply, as: UTF8.self), false)
    }

    private static func isComplete(_ reply: [UInt8]) -> Bool {
        let text = String(decoding: reply, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<end.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return true }
        return text[end.upperBound...].utf8.count >= length
    }
}

/// The service's budgets for connections and uploads, each a `serve` option.
@Suite(.serialized)
struct ServiceLimitsTests {
    @Test func anIdleConnectionIsClosed() throws {
        let scratch = try Scratch()
        let server = ServerProcess(
            dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token")
        try server.start(arguments: ["--idle-timeout", "1"])
        defer { server.stop() }
        let idle = try RawConnection(port: server.port)
        let started = Date()
        let reply = idle.receive(within: 10)
        #expect(reply.closed)
        #expect(reply.text.isEmpty)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// A header sent a byte at a time keeps resetting the idle timeout, but not the header timeout. The server runs
    /// in a process of its own: this test's socket calls block, and an in-process server shares the test process's
    /// few threads, so on a loaded machine it could not answer while the test waits for it.
    @Test func aHeaderThatNeverEndsIsCutOff() async throws {
        let data = try Scratch()
        let server = ServerProcess(
            dataDirectory: data.path + "/server", operatorTokenFile: data.path + "/operator.token")
        // Long enough that a loaded machine still reads a whole request head in time, far below the idle timeout.
        try server.start(arguments: ["--idle-timeout", "60", "--header-timeout", "4"])
        defer { server.stop() }
        let slow = try RawConnection(port: server.port)
        let started = Date()
        var closed = false
        for byte in Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
            + Array(repeating: UInt8(ascii: "a"), count: 200)
        {
            slow.send([byte])
            if slow.receive(within: 1).closed {
                closed = true
                break
            }
            if Date().timeIntervalSince(started) > 30 { break }
        }
        #expect(closed)
        #expect(Date().timeIntervalSince(started) < 20)
        // A whole request is answered, and a kept-alive connection's next request too, within the timeout.
        let prompt = try RawConnection(port: server.port)
        for _ in 0..<2 {
            prompt.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(prompt.receive(within: 30).text.contains("200 OK"))
        }
    }

    @Test func connectionsBeyondTheMaximumWaitForASlot() async throws {
        let scratch = try Scratch()
        let server = ServerProcess(
            dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token")
        try server.start(arguments: ["--max-connections", "1"])
        defer { server.stop() }
        let holder = try RawConnection(port: server.port)
        holder.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(holder.receive(within: 30).text.contains("200 OK"))
        // The holder keeps its connection open: a second client is not served meanwhile.
        let waiting = try RawConnection(port: server.port)
        waiting.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(waiting.receive(within: 1).text.isEmpty)
        close(holder.descriptor)
        #expect(waiting.receive(within: 30).text.contains("200 OK"))
    }

    @Test func anUploadSlowerThanTheMinimumRateIsRefusedAndLeavesNothing() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let server = try await InProcessServer(
            for: data, executor: EngineRunExecutor(threads: 1)
        ) {
            $0.minimumUploadRate = 1 << 20
            $0.uploadRateGrace = .milliseconds(300)
        }
        let project = try await ServiceProject.create(on: server, data: data)
        let file = try FileIO.readAll("\(data.path)/a.bmt")
        let slow = try RawConnection(port: server.port)
        slow.send(RawConnection.uploadHead(project: project, length: file.count))
        // A trickle of 20 bytes every 200 ms, far below the minimum rate, until the server answers.
        var reply = (text: "", closed: false)
        for offset in stride(from: 0, to: file.count - 20, by: 20) where reply.text.isEmpty && !reply.closed {
            slow.send(Array(file[offset..<(offset + 20)]))
            try await Task.sleep(for: .milliseconds(200))
            reply = await slow.response(within: 1)
        }
        #expect(reply.text.hasPrefix("HTTP/1.1 408"), "\(reply.text)")
        #expect(reply.text.contains("uploadTooSlow"))
        let uploads = try await HTTP.request(
            .GET, "\(server.baseURL)/projects/\(project.id)/uploads", token: project.watchlistToken)
        #expect(uploads.json?["items"]?.arrayValue?.isEmpty == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/tmp").isEmpty)
        await server.stop()
    }

    @Test func uploadsStopShortOfAFullDiskAndAPartysQuota() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let size = try FileIO.readAll("\(data.path)/a.bmt").count
        let server = ServerProcess(
            dataDirectory: data.scratch.path + "/server", operatorTokenFile: data.scratch.path + "/operator.token")
        try server.start(arguments: ["--max-party-bytes", String(size + 10)])
        defer { server.stop() }
        let project = try await ServiceProject.create(on: server, data: data)
        let first = try await project.upload(
            server, data: data, file: "a.bmt", party: "agency-a", token: project.watchlistToken)
        #expect(first.status == 201)
        let again = try await project.upload(
            server, data: data, file: "a.bmt", party: "agency-a", token: project.watchlistToken)
        ServiceAPITests.conforming(again, "POST", "/projects/{projectId}/parties/{party}/uploads")
        #expect(again.status == 409 && again.code == "partyQuotaExceeded", "\(again.text)")
        server.stop()

        // A disk that would keep less than the reserve: refused before any byte is written.
        let full = ServerProcess(
            dataDirectory: data.scratch.path + "/server", operatorTokenFile: data.scratch.path + "/operator.token")
        try full.start(arguments: ["--min-free-bytes", String(Int64.max / 2)])
        defer { full.stop() }
        let refused = try await project.upload(
            full, data: data, file: "b.bmt", party: "council-b", token: project.bulkToken)
        ServiceAPITests.conforming(refused, "POST", "/projects/{projectId}/parties/{party}/uploads")
        #expect(refused.status == 507 && refused.code == "insufficientStorage", "\(refused.text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: full.dataDirectory + "/tmp").isEmpty)
        let log = try await HTTP.request(.GET, full.baseURL + "/audit/log", token: project.auditorToken).text
        #expect(log.contains(#""reason":"insufficientStorage""#))
        #expect(log.contains(#""reason":"partyQuotaExceeded""#))
    }

    @Test func aPartyStreamsAtMostItsShareOfUploadsAtOnce() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let server = try await InProcessServer(
            for: data, executor: EngineRunExecutor(threads: 1)
        ) {
            $0.maximumConcurrentUploads = 1
            // The held stream pauses while the other uploads run; on a loaded machine that may exceed the default
            // grace, which would refuse it for its rate (another test's subject), not for what this test checks.
            $0.uploadRateGrace = .seconds(3600)
        }
        let project = try await ServiceProject.create(on: server, data: data)
        let file = try FileIO.readAll("\(data.path)/a.bmt")
        let streaming = try RawConnection(port: server.port)
        streaming.send(RawConnection.uploadHead(project: project, length: file.count) + Array(file.prefix(100)))
        try await Task.sleep(for: .milliseconds(300))
        let second = try await project.upload(
            server, data: data, file: "a.bmt", party: "agency-a", token: project.watchlistToken)
        ServiceAPITests.conforming(second, "POST", "/projects/{projectId}/parties/{party}/uploads")
        #expect(second.status == 429 && second.code == "tooManyUploads", "\(second.text)")
        // The other party is not held up, and once the first stream ends the party may upload again.
        let other = try await project.upload(
            server, data: data, file: "b.bmt", party: "council-b", token: project.bulkToken)
        #expect(other.status == 201)
        streaming.send(Array(file.dropFirst(100)))
        #expect(await streaming.response(within: 60).text.hasPrefix("HTTP/1.1 201"))
        await server.stop()
    }

    /// The published test keys (their private halves are in the repository) are no one's keys: refused unless the
    /// server is told it is a trial.
    @Test func publishedTestKeysAreRefusedUnlessAllowed() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let testKey = try String(contentsOfFile: CLI.repositoryPath("Keys/test/test-agency-b.pub"), encoding: .utf8)
        var request = try data.projectRequest()
        if case .object(let members) = request, let parties = members.first(where: { $0.key == "parties" })?.value,
            case .array(var items) = parties, case .object(var bulk) = items[1]
        {
            bulk = bulk.map { $0.key == "publicKey" ? ("publicKey", .object([("pem", .string(testKey))])) : $0 }
            items[1] = .object(bulk)
            request = .object(members.map { $0.key == "parties" ? ("parties", .array(items)) : $0 })
        }
        for allowed in [false, true] {
            let scratch = try Scratch()
            let server = ServerProcess(
                dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token")
            try server.start(arguments: allowed ? ["--allow-test-keys"] : [])
            defer { server.stop() }
            let created = try await HTTP.request(
                .POST, server.baseURL + "/projects", token: try server.operatorToken, body: HTTP.json(request))
            ServiceAPITests.conforming(created, "POST", "/projects")
            if allowed {
                #expect(created.status == 201, "\(created.text)")
            } else {
                #expect(created.status == 422 && created.code == "invalidPublicKey", "\(created.text)")
                #expect(created.text.contains("published test key"))
            }
        }
    }

    /// What closing a project deletes is overwritten in the store, not left in SQLite's free pages.
    @Test func theStoreOverwritesWhatItDeletes() async throws {
        let scratch = try Scratch()
        let store = try SQLiteLinkageStore(
            path: scratch.path + "/store.sqlite", checkpointKey: try SigningKey.generate())
        let secureDelete = try await store.database.read { db in try Int.fetchOne(db, sql: "PRAGMA secure_delete") }
        #expect(secureDelete == 1)
    }
}
