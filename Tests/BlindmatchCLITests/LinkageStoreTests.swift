import BlindmatchAudit
import BlindmatchContract
import BlindmatchProtocol
import BlindmatchTestSupport
import Foundation
import Synchronization
import Testing

@testable import BlindmatchMatching
@testable import BlindmatchServer

/// The two implementations of the store seam.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A store of either kind on a fresh data directory or database, closed and removed by ``close()``.
final class StoreUnderTest: @unchecked Sendable {
    let kind: StoreKind
    let store: any LinkageStore
    let checkpointKey: SigningKey
    private let directory: String
    private let pool: PostgresPool?
    let database: PostgresTestCluster.Database?

    private init(
        kind: StoreKind, store: any LinkageStore, checkpointKey: SigningKey, directory: String, pool: PostgresPool?,
        database: PostgresTestCluster.Database?
    ) {
        self.kind = kind
        self.store = store
        self.checkpointKey = checkpointKey
        self.directory = directory
        self.pool = pool
        self.database = database
    }

    /// `leaseSeconds` (PostgreSQL): how long a claimed run stays its server's without a heartbeat; the default, -1,
    /// makes every claim lapse at once, so that `requeueInterruptedRuns` acts as after a crash, as on SQLite.
    static func open(_ kind: StoreKind, leaseSeconds: Int64 = -1) async throws -> StoreUnderTest {
        let key = try SigningKey.generate()
        let directory = NSTemporaryDirectory() + "blindmatch-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        switch kind {
        case .sqlite:
            let store = try SQLiteLinkageStore(path: directory + "/blindmatch.sqlite", checkpointKey: key)
            return StoreUnderTest(
                kind: kind, store: store, checkpointKey: key, directory: directory, pool: nil, database: nil)
        case .postgres:
            let database = try PostgresTestCluster.makeDatabase()
            do {
                let location = try PostgresLocation(url: database.url).withPassword(
                    file: database.passwordFile, environment: [:])
                let pool = try await PostgresPool.open(location, maximumConnections: 4)
                let store = try await PostgresLinkageStore(
                    pool: pool, checkpointKey: key, leaseSeconds: leaseSeconds)
                return StoreUnderTest(
                    kind: kind, store: store, checkpointKey: key, directory: directory, pool: pool,
                    database: database)
            } catch {
                database.drop()
                throw error
            }
        }
    }

    /// Another server's store on the same database (PostgreSQL), with the same checkpoint key; the caller closes
    /// its pool.
    func secondServer(leaseSeconds: Int64 = 60) async throws -> (store: PostgresLinkageStore, pool: PostgresPool) {
        let database = try #require(database)
        let location = try PostgresLocation(url: database.url).withPassword(
            file: database.passwordFile, environment: [:])
        let pool = try await PostgresPool.open(location, maximumConnections: 4)
        do {
            return (
                try await PostgresLinkageStore(pool: pool, checkpointKey: checkpointKey, leaseSeconds: leaseSeconds),
                pool
            )
        } catch {
            await pool.close()
            throw error
        }
    }

    func close() async {
        await pool?.close()
        database?.drop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` on a fresh store of `kind`, closing it however the body ends.
    static func with(_ kind: StoreKind, _ body: (StoreUnderTest) async throws -> Void) async throws {
        let opened = try await open(kind)
        do {
            try await body(opened)
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
    }

    /// The whole stored log, as lines, verified with BlindmatchAudit's verifier after a final checkpoint.
    func verifiedLog() async throws -> [AuditEntry] {
        try await store.appendCheckpoint()
        var lines: [[UInt8]] = []
        while true {
            let batch = try await store.auditLines(from: lines.count, through: Int.max, limit: 1000)
            lines += batch
            if batch.count < 1000 { break }
        }
        var bytes: [UInt8] = []
        for line in lines { bytes += line + [0x0A] }
        let verification = AuditVerification(jsonLines: bytes, publicKey: checkpointKey.publicKey)
        #expect(verification.isValid, "\(kind): \(verification.firstFailure.map { "\($0)" } ?? "")")
        return try lines.map { try AuditEntry(parsing: $0) }
    }
}

/// A project's parties and their keys, for the tests' requests.
struct StoreFixture {
    var project: ProjectRecord
    var watchlistKey: SigningKey
    var bulkKey: SigningKey
    var watchlist: PartyRecord
    var bulk: PartyRecord

    static let operatorActing = Acting(actor: .operator, tokenID: "t-operator")

    static func randomHex(_ count: Int) throws -> String { Hex.encode(try SecureRandom.bytes(count / 2)) }

    /// A project with two parties (`agency-a`, watch list; `council-b`, bulk) under `runPolicy`.
    static func make(
        in store: any LinkageStore, name: String = "store test", runPolicy: RunPolicy = .legacy,
        keyId: String? = nil
    ) async throws -> StoreFixture {
        let watchlistKey = try SigningKey.generate()
        let bulkKey = try SigningKey.generate()
        let body: JSONValue = .object([
            ("name", .string(name)), ("purpose", "Test the store."), ("legalBasis", "Test data only."),
            ("schemaFingerprint", .string(try randomHex(64))),
            (
                "layout",
                .object([("filterBits", .number("1024")), ("matchKeys", .array(["k1"])), ("blockingKeys", .array([]))])
            ),
            ("keyId", .string(try keyId ?? randomHex(32))),
            (
                "parties",
                .array([
                    .object([
                        ("name", "agency-a"), ("role", "watchlist"),
                        ("publicKey", .object([("pem", .string(watchlistKey.publicKey.pem()))])),
                    ]),
                    .object([
                        ("name", "council-b"), ("role", "bulk"),
                        ("publicKey", .object([("pem", .string(bulkKey.publicKey.pem()))])),
                    ]),
                ])
            ),
            ("matching", .object([("threshold", "0.85"), ("reviewFrom", "0.75")])),
            (
                "disclosure",
                .object([
                    (
                        "grants",
                        .array([
                            .object([
                                ("role", "watchlist"),
                                ("fields", .array(["row", "counterpartRow", "rule", "score", "status"])),
                                ("statuses", .array(["match", "possible"])),
                            ]),
                            .object([("role", "bulk"), ("fields", .array(["row"])), ("statuses", .array(["match"]))]),
                        ])
                    )
                ])
            ),
        ])
        var request = try ProjectRequest(
            ContractDecoder.decode(Components.Schemas.ProjectRequest.self, from: body.canonicalText, source: "test"))
        request.runPolicy = runPolicy
        let project = try await store.createProject(
            request, id: try Identifier.make("p"), by: operatorActing)
        let watchlist = try #require(project.party(role: .watchlist))
        let bulk = try #require(project.party(role: .bulk))
        return StoreFixture(
            project: project, watchlistKey: watchlistKey, bulkKey: bulkKey, watchlist: watchlist, bulk: bulk)
    }

    func acting(_ party: PartyRecord) -> Acting { Acting(actor: .party(party.name), tokenID: "t-\(party.name)") }

    /// An upload's record as the uploads controller would make it, for a file never written (the store holds
    /// metadata only).
    func newUpload(_ party: PartyRecord, records: Int = 10, sha256: String? = nil) throws -> NewUpload {
        let header = TokenFileHeader(
            schemaFlavour: .native, schemaFingerprint: project.schemaFingerprint, keyID: project.keyId,
            party: party.name, recordCount: records, matchKeys: ["k1"], tokenBytes: 128, filterBits: 1024,
            hardening: .object([]), statistics: .object([]), createdAt: "2026-12-07T00:00:00Z", tool: "test")
        return NewUpload(
            id: try Identifier.make("u"), project: project.id, party: party.name,
            sha256: try sha256 ?? StoreFixture.randomHex(64), bytes: 1000 + records, header: header,
            signer: "test-signer")
    }

    /// Accepts an upload of `party` with a token issued for it.
    @discardableResult
    func upload(
        _ party: PartyRecord, in store: any LinkageStore, token: String, records: Int = 10, sha256: String? = nil
    ) async throws -> UploadRecord {
        let upload = try newUpload(party, records: records, sha256: sha256)
        let layout = try await store.uploadLayout(project: project.id)
        return try await store.acceptUpload(
            upload, tokenID: token, by: acting(party), checkedAgainst: layout, recheck: { _ in },
            place: { true }, unplace: {}
        ).upload
    }

    /// A party token, issued and activated with the party's key.
    func activeToken(_ party: PartyRecord, in store: any LinkageStore) async throws -> TokenRecord {
        let issued = try await store.issueToken(
            TokenDraft(role: .party, name: party.name, project: project.id, party: party.name, expiresAt: nil),
            by: StoreFixture.operatorActing)
        let record = issued.record
        let key = party.role == .watchlist ? watchlistKey : bulkKey
        let message = TokenActivation.message(
            token: record.id, project: project.id, party: party.name, key: party.publicKey.fingerprint,
            challenge: try #require(record.challenge))
        return try await store.activateToken(record, signature: try key.signature(for: message), by: acting(party))
    }
}

/// The store's semantics, exercised directly on both stores (SQLite and PostgreSQL): the same calls, the same
/// refusals, the same audit log.
@Suite("LinkageStore on both stores")
struct LinkageStoreTests {
    /// The APIError code a call is refused with.
    static func refusal(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as APIError {
            return error.code.rawValue
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: StoreKind.allCases)
    func tokens(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { opened in
            let store = opened.store
            let secret = try #require(try await store.issueFirstOperatorToken())
            #expect(try await store.issueFirstOperatorToken() == nil)
            let hash = try #require(BearerToken.hash(secret))
            let first = try #require(try await store.token(hash: hash))
            #expect(first.role == ._operator && first.isValid(at: AuditTime.now().text))
            let refused = await Self.refusal { _ = try await store.revokeToken(id: first.id, by: first.acting) }
            #expect(refused == "lastOperatorToken")
            let second = try await store.issueToken(
                TokenDraft(role: ._operator, name: "second", project: nil, party: nil, expiresAt: nil),
                by: first.acting)
            let auditor = try await store.issueToken(
                TokenDraft(role: .auditor, name: "inspector", project: nil, party: nil, expiresAt: nil),
                by: first.acting)
            #expect(auditor.record.activatedAt != nil)
            let revoked = try #require(try await store.revokeToken(id: first.id, by: second.record.acting))
            #expect(revoked.revokedAt != nil)
            #expect(try await store.revokeToken(id: "t-none", by: second.record.acting) == nil)
            let valid = try await store.tokens(PageRequest(limit: 10), project: nil, includeRevoked: false)
            #expect(Set(valid.items.map(\.id)) == [second.record.id, auditor.record.id])
            let all = try await store.tokens(PageRequest(limit: 2), project: nil, includeRevoked: true)
            #expect(all.items.map(\.id) == [auditor.record.id, second.record.id])
            let rest = try await store.tokens(
                PageRequest(limit: 2, before: all.nextBefore), project: nil, includeRevoked: true)
            #expect(rest.items.map(\.id) == [first.id] && rest.nextBefore == nil)

            // Party tokens: activated with the party's registered key only, once.
            let fixture = try await StoreFixture.make(in: store)
            let issued = try await store.issueToken(
                TokenDraft(
                    role: .party, name: "agency-a", project: fixture.project.id, party: "agency-a", expiresAt: nil),
                by: StoreFixture.operatorActing)
            #expect(issued.record.activatedAt == nil)
            let message = TokenActivation.message(
                token: issued.record.id, project: fixture.project.id, party: "agency-a",
                key: fixture.watchlist.publicKey.fingerprint, challenge: try #require(issued.record.challenge))
            let wrongKey = await Self.refusal {
                _ = try await store.activateToken(
                    issued.record, signature: try fixture.bulkKey.signature(for: message),
                    by: fixture.acting(fixture.watchlist))
            }
            #expect(wrongKey == "activationRefused")
            let active = try await store.activateToken(
                issued.record, signature: try fixture.watchlistKey.signature(for: message),
                by: fixture.acting(fixture.watchlist))
            #expect(active.activatedAt != nil)
            let again = await Self.refusal {
                _ = try await store.activateToken(
                    active, signature: try fixture.watchlistKey.signature(for: message),
                    by: fixture.acting(fixture.watchlist))
            }
            #expect(again == "tokenActive")
            let noParty = await Self.refusal {
                _ = try await store.issueToken(
                    TokenDraft(
                        role: .party, name: "x", project: fixture.project.id, party: "nobody", expiresAt: nil),
                    by: StoreFixture.operatorActing)
            }
            #expect(noParty == "partyNotRegistered")
            _ = try await opened.verifiedLog()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func projects(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { opened in
            let store = opened.store
            let fixture = try await StoreFixture.make(in: store, name: "first")
            let sameKey = await Self.refusal {
                _ = try await StoreFixture.make(in: store, name: "other", keyId: fixture.project.keyId)
            }
            #expect(sameKey == "keyIdInUse")
            let sameName = await Self.refusal { _ = try await StoreFixture.make(in: store, name: "first") }
            #expect(sameName == "nameTaken")
            let second = try await StoreFixture.make(in: store, name: "second")
            let listed = try await store.projects(PageRequest(limit: 10), status: .open, only: nil)
            #expect(listed.items.map(\.id) == [second.project.id, fixture.project.id])
            #expect(try await store.party(project: fixture.project.id, name: "council-b")?.role == .bulk)

            // A key rotation revokes the party's tokens, bound to the old key.
            let token = try await fixture.activeToken(fixture.bulk, in: store)
            let newKey = try SigningKey.generate()
            let rotated = try await store.replacePartyKey(
                project: fixture.project.id, party: "council-b", key: newKey.publicKey,
                by: StoreFixture.operatorActing)
            #expect(rotated.publicKey == newKey.publicKey)
            #expect(try await store.token(id: token.id)?.revokedAt != nil)

            // Closing: queued runs fail, tokens are revoked, files no open project uses are handed over, once.
            let watchToken = try await fixture.activeToken(fixture.watchlist, in: store)
            let shared = try StoreFixture.randomHex(64)
            try await fixture.upload(fixture.watchlist, in: store, token: watchToken.id, sha256: shared)
            let bulkToken = try await store.issueToken(
                TokenDraft(
                    role: .party, name: "council-b", project: fixture.project.id, party: "council-b",
                    expiresAt: nil), by: StoreFixture.operatorActing)
            try await fixture.upload(fixture.bulk, in: store, token: bulkToken.record.id)
            let run = try await store.queueRun(
                project: fixture.project, requester: fixture.watchlist, upload: nil, id: try Identifier.make("r"),
                by: fixture.acting(fixture.watchlist)
            ).run
            let removed = Mutex<[String]>([])
            let closed = try await store.closeProject(
                id: fixture.project.id, reason: "done", by: StoreFixture.operatorActing
            ) { files in removed.withLock { $0 += files } }
            #expect(closed.status == .closed)
            #expect(removed.withLock { $0.count } == 2 && removed.withLock { $0.contains(shared) })
            #expect(try await store.run(id: run.id)?.failureCode == "projectClosed")
            #expect(try await store.token(id: watchToken.id)?.revokedAt != nil)
            let again = await Self.refusal {
                _ = try await store.closeProject(
                    id: fixture.project.id, reason: "again", by: StoreFixture.operatorActing
                ) { _ in }
            }
            #expect(again == "projectClosed")
            #expect(try await store.projects(PageRequest(limit: 10), status: .closed, only: nil).items.count == 1)
            _ = try await opened.verifiedLog()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func uploads(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { opened in
            let store = opened.store
            let fixture = try await StoreFixture.make(in: store)
            #expect(try await store.uploadLayout(project: fixture.project.id)?.filterBits == 1024)
            let token = try await fixture.activeToken(fixture.watchlist, in: store)
            let bulkToken = try await fixture.activeToken(fixture.bulk, in: store)
            let sha = try StoreFixture.randomHex(64)
            let first = try await fixture.upload(fixture.watchlist, in: store, token: token.id, sha256: sha)
            let second = try await fixture.upload(fixture.watchlist, in: store, token: token.id, sha256: sha)
            #expect(try await store.upload(id: first.id)?.current == false)
            #expect(second.current)
            // The same file twice counts once.
            #expect(try await store.storedBytes(project: fixture.project.id, party: "agency-a") == 1010)
            try await fixture.upload(fixture.bulk, in: store, token: bulkToken.id, records: 20)
            let listed = try await store.uploads(PageRequest(limit: 10), project: fixture.project.id, party: "agency-a")
            #expect(listed.items.map(\.id) == [second.id, first.id])

            // A refused token or a layout that changed are decided inside the transaction.
            _ = try await store.revokeToken(id: token.id, by: StoreFixture.operatorActing)
            let revoked = await Self.refusal {
                try await fixture.upload(fixture.watchlist, in: store, token: token.id)
            }
            #expect(revoked == "unauthenticated")
            let rechecked = await Self.refusal {
                _ = try await store.acceptUpload(
                    try fixture.newUpload(fixture.bulk), tokenID: bulkToken.id, by: fixture.acting(fixture.bulk),
                    checkedAgainst: nil, recheck: { _ in throw APIError.invalid("layout changed") },
                    place: { true }, unplace: {})
            }
            #expect(rechecked == "invalidRequest")
            try await store.refuseUpload(
                project: fixture.project.id, reason: "signature", by: fixture.acting(fixture.bulk))

            // Withdrawing fails the runs that use the upload; the file is handed over when nothing else uses it.
            let run = try await store.queueRun(
                project: fixture.project, requester: fixture.bulk, upload: nil, id: try Identifier.make("r"),
                by: fixture.acting(fixture.bulk)
            ).run
            let removed = Mutex<[String]>([])
            let withdrawn = try await store.withdrawUpload(second, by: fixture.acting(fixture.watchlist)) { files in
                removed.withLock { $0 += files }
            }
            #expect(withdrawn.failedRuns == [run.id])
            #expect(removed.withLock { $0 } == [])  // the first upload still uses the file
            #expect(withdrawn.upload.withdrawnAt != nil)
            let again = await Self.refusal {
                _ = try await store.withdrawUpload(second, by: fixture.acting(fixture.watchlist)) { _ in }
            }
            #expect(again == "uploadWithdrawn")
            #expect(try await store.referencedFiles().contains(sha))
            let metrics = try await store.metrics()
            #expect(metrics.uploadsAccepted == 3 && metrics.uploadsRefused == 1 && metrics.uploadLargest == 1020)
            #expect(metrics.runs[.failed] == 1)
            _ = try await opened.verifiedLog()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func runs(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { opened in
            let store = opened.store
            let policy = RunPolicy(
                requesters: [.watchlist], approvers: [.bulk], minimumRecords: [.watchlist: 1, .bulk: 1], runsPerDay: 3)
            let first = try await StoreFixture.make(in: store, name: "first", runPolicy: policy)
            let second = try await StoreFixture.make(in: store, name: "second")
            for fixture in [first, second] {
                let a = try await fixture.activeToken(fixture.watchlist, in: store)
                let b = try await fixture.activeToken(fixture.bulk, in: store)
                try await fixture.upload(fixture.watchlist, in: store, token: a.id)
                try await fixture.upload(fixture.bulk, in: store, token: b.id)
            }
            // Under the run policy: awaiting the bulk party's approval, then queued.
            let (awaiting, _) = try await store.queueRun(
                project: first.project, requester: first.watchlist, upload: nil, id: "r-1a",
                by: first.acting(first.watchlist))
            #expect(awaiting.status == .awaitingApproval && awaiting.approvals.isEmpty)
            let (approved, receipt) = try await store.approveRun(
                awaiting, project: first.project, party: first.bulk, by: first.acting(first.bulk))
            #expect(approved.status == .queued && receipt.seq > 0)
            let twice = await Self.refusal {
                _ = try await store.approveRun(
                    approved, project: first.project, party: first.bulk, by: first.acting(first.bulk))
            }
            #expect(twice == "runNotAwaitingApproval")
            let named = await Self.refusal {
                _ = try await store.queueRun(
                    project: first.project, requester: first.watchlist, upload: "u-not-mine", id: "r-x",
                    by: first.acting(first.watchlist))
            }
            #expect(named == "invalidRequest")
            let cancelled = try await store.queueRun(
                project: first.project, requester: first.watchlist, upload: nil, id: "r-1b",
                by: first.acting(first.watchlist)
            ).run
            #expect(try await store.cancelRun(cancelled, by: first.acting(first.watchlist)).failureCode == "cancelled")
            let finished = await Self.refusal {
                _ = try await store.cancelRun(cancelled, by: StoreFixture.operatorActing)
            }
            #expect(finished == "runFinished")
            _ = try await store.queueRun(
                project: first.project, requester: first.watchlist, upload: nil, id: "r-1c",
                by: first.acting(first.watchlist))
            let tooMany = await Self.refusal {
                _ = try await store.queueRun(
                    project: first.project, requester: first.watchlist, upload: nil, id: "r-1d",
                    by: first.acting(first.watchlist))
            }
            #expect(tooMany == "tooManyRuns")
            for id in ["r-2a", "r-2b"] {
                _ = try await store.queueRun(
                    project: second.project, requester: second.bulk, upload: nil, id: id,
                    by: second.acting(second.bulk))
            }
            // Projects take turns: first's oldest, second's oldest, then first's next (r-1c still awaits approval,
            // so second's next).
            let claimed1 = try #require(try await store.claimNextRun(maximumAttempts: 3))
            let claimed2 = try #require(try await store.claimNextRun(maximumAttempts: 3))
            #expect([claimed1.id, claimed2.id] == ["r-1a", "r-2a"])
            #expect(claimed1.status == .running && claimed1.attempt == 1)
            // A planned stop puts it back without counting the attempt; a crash leaves it running for requeueing.
            try await store.release(claimed2)
            #expect(try await store.run(id: "r-2a")?.status == .queued)
            try await store.requeueInterruptedRuns()
            #expect(try await store.run(id: "r-1a")?.status == .queued)
            let reclaimed = try #require(try await store.claimNextRun(maximumAttempts: 3))
            #expect(reclaimed.id == "r-2a" && reclaimed.attempt == 1)
            let next = try #require(try await store.claimNextRun(maximumAttempts: 3))
            #expect(next.id == "r-1a" && next.attempt == 2)
            #expect(try await store.claimNextRun(maximumAttempts: 3)?.id == "r-2b")
            #expect(try await store.claimNextRun(maximumAttempts: 3) == nil)
            let files = try #require(try await store.files(of: next))
            #expect(files.watchlist.count == 64 && files.bulk.count == 64)

            // Published results: paged, counted, each page audited.
            var results: [MatchResult] = []
            for index in 0..<2_500 {
                let exact = index % 3 == 0
                let score: Double = exact ? 1 : 0.8 + Double(index % 100) / 1000
                let status: MatchResult.Status = index % 5 == 0 ? .possible : .match
                results.append(
                    MatchResult(
                        rowA: UInt32(index / 2), rowB: UInt32(index), rule: exact ? .matchKey(0) : .bloom,
                        score: score, status: status))
            }
            let summary = RunSummary(
                watchlistRecords: 10, bulkRecords: 10, matches: 2000, possible: 500, comparisons: 99, seconds: 0.5)
            let published = try await store.finish(
                next,
                outcome: .succeeded(results: results, matchKeys: ["k1"], report: MatchEngine.Report(), summary: summary)
            )
            #expect(published)
            #expect(try await store.run(id: "r-1a")?.status == .succeeded)
            #expect(try await store.finish(next, outcome: .failed(code: "internal", message: "late")) == false)
            let counts = try await store.viewCounts(run: "r-1a", role: .watchlist)
            #expect(counts[.match] == Set(results.filter { $0.status == .match }.map(\.rowA)).count)
            #expect(counts[.possible] == Set(results.filter { $0.status == .possible }.map(\.rowA)).count)
            let grant = try #require(first.project.disclosure.grant(for: .watchlist))
            var after: [ResultValue]?
            var rows: [[ResultValue]] = []
            var pages = 0
            repeat {
                let page = try await store.resultView(
                    ResultQuery(
                        project: first.project.id, run: "r-1a", party: first.watchlist, grant: grant,
                        scoreDecimals: 3, limit: 1000, after: after), by: first.acting(first.watchlist))
                #expect(page.total == results.count)
                rows += page.rows
                after = page.rows.last
                pages += 1
                if !page.hasMore { break }
            } while pages < 10
            #expect(pages == 3 && rows.count == results.count)
            #expect(rows.first == [.integer(0), .integer(0), .text("k1"), .integer(1000), .text("possible")])
            let bulkGrant = try #require(first.project.disclosure.grant(for: .bulk))
            let bulkView = try await store.resultView(
                ResultQuery(
                    project: first.project.id, run: "r-1a", party: first.bulk, grant: bulkGrant, scoreDecimals: 3,
                    limit: 5, after: nil), by: first.acting(first.bulk))
            let expected: [[ResultValue]] = [1, 2, 3, 4, 6].map { [.integer($0)] }
            #expect(bulkView.rows == expected)
            let failed = try await store.finish(reclaimed, outcome: .failed(code: "internal", message: "broken"))
            #expect(failed)
            #expect(try await store.run(id: "r-2a")?.failureCode == "internal")
            let metrics = try await store.metrics()
            #expect(metrics.runs[.succeeded] == 1 && metrics.lastRun == "r-1a")
            let log = try await opened.verifiedLog()
            #expect(log.filter { $0.action == .resultRead }.count == 4)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func consoleSessions(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { opened in
            let store = opened.store
            let secret = try #require(try await store.issueFirstOperatorToken())
            let secretHash = try #require(BearerToken.hash(secret))
            let token = try #require(try await store.token(hash: secretHash))
            let now: Int64 = 1_800_000_000
            let hash = try SecureRandom.bytes(32)
            try await store.openConsoleSession(
                NewConsoleSession(id: "s-1", hash: hash, token: token, ticket: nil, now: now, idleSeconds: 900))
            guard
                case .open(let session, let acting) = try await store.consoleSession(
                    hash: hash, idleSeconds: 900, now: now + 20)
            else {
                Issue.record("the session is not open")
                return
            }
            #expect(session.id == "s-1" && acting.id == token.id)
            // Touched (20 s ≥ the touch interval): still open 900 s after that use.
            guard case .open = try await store.consoleSession(hash: hash, idleSeconds: 900, now: now + 900) else {
                Issue.record("the touched session ended")
                return
            }
            guard case .ended("idle") = try await store.consoleSession(hash: hash, idleSeconds: 900, now: now + 2000)
            else {
                Issue.record("the idle session did not end")
                return
            }
            let other = try SecureRandom.bytes(32)
            try await store.openConsoleSession(
                NewConsoleSession(id: "s-2", hash: other, token: token, ticket: nil, now: now, idleSeconds: 900))
            try await store.closeConsoleSession(id: "s-2", by: token.acting, project: nil)
            guard case .none = try await store.consoleSession(hash: other, idleSeconds: 900, now: now) else {
                Issue.record("a closed session is still found")
                return
            }
            let ticketHash = try SecureRandom.bytes(32)
            try await store.issueConsoleTicket(
                id: "k-1", hash: ticketHash, for: token, expiresAt: "2099-01-01T00:00:00Z")
            let redeemed = try await store.redeemConsoleTicket(hash: ticketHash, now: AuditTime.now().text)
            #expect(redeemed?.ticket == "k-1" && redeemed?.token.id == token.id)
            #expect(try await store.redeemConsoleTicket(hash: ticketHash, now: AuditTime.now().text) == nil)
            let log = try await opened.verifiedLog()
            #expect(log.filter { $0.action == .tokenRevoked }.count == 2)
            #expect(try await store.auditEntries(action: .tokenIssued, project: "p-none", limit: 5).isEmpty)
        }
    }

    /// The same calls give the same audit log on both stores, entry by entry (actor, action, project and detail
    /// names; ids and times differ).
    @Test func sameAuditShape() async throws {
        var shapes: [[String]] = []
        for kind in StoreKind.allCases {
            try await StoreUnderTest.with(kind) { opened in
                let store = opened.store
                _ = try await store.issueFirstOperatorToken()
                let fixture = try await StoreFixture.make(in: store)
                let a = try await fixture.activeToken(fixture.watchlist, in: store)
                let b = try await fixture.activeToken(fixture.bulk, in: store)
                let upload = try await fixture.upload(fixture.watchlist, in: store, token: a.id)
                try await fixture.upload(fixture.bulk, in: store, token: b.id)
                try await store.auditRefusal(actor: .unauthenticated, reason: "unauthenticated", route: "/projects")
                let run = try await store.queueRun(
                    project: fixture.project, requester: fixture.watchlist, upload: nil, id: "r-1",
                    by: fixture.acting(fixture.watchlist)
                ).run
                _ = try await store.claimNextRun(maximumAttempts: 3)
                _ = try await store.withdrawUpload(upload, by: fixture.acting(fixture.watchlist)) { _ in }
                #expect(try await store.run(id: run.id)?.status == .failed)
                _ = try await store.beginAuditExport(by: StoreFixture.operatorActing)
                _ = try await store.closeProject(id: fixture.project.id, reason: "end", by: StoreFixture.operatorActing)
                {
                    _ in
                }
                let log = try await opened.verifiedLog()
                shapes.append(
                    log.map { entry in
                        let names = entry.details.members.map(\.name).joined(separator: ",")
                        return "\(entry.actor) \(entry.action.rawValue) \(entry.project == nil ? "-" : "p") \(names)"
                    })
            }
        }
        #expect(shapes.count == 2)
        #expect(shapes.first == shapes.last)
        #expect((shapes.first?.count ?? 0) > 15)
    }

    /// Several servers on one database: migrations applied once when they start together, one audit chain however
    /// their writes interleave, a run running on one left alone by the others until its lease lapses, and a
    /// cancellation through another server seen by the one running it.
    @Test func severalServersShareOneDatabase() async throws {
        let database = try PostgresTestCluster.makeDatabase()
        defer { database.drop() }
        let location = try PostgresLocation(url: database.url).withPassword(
            file: database.passwordFile, environment: [:])
        let pools = try await withThrowingTaskGroup(of: PostgresPool.self) { group in
            for _ in 0..<3 { group.addTask { try await PostgresPool.open(location, maximumConnections: 4) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let key = try SigningKey.generate()
        var stores: [PostgresLinkageStore] = []
        for pool in pools { stores.append(try await PostgresLinkageStore(pool: pool, checkpointKey: key)) }
        do {
            let fixture = try await StoreFixture.make(in: stores[0])
            let a = try await fixture.activeToken(fixture.watchlist, in: stores[1])
            let b = try await fixture.activeToken(fixture.bulk, in: stores[2])
            // Writes through every server at once, checkpoints among them.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<30 {
                    let store = stores[index % 3]
                    group.addTask {
                        switch index % 5 {
                        case 0: try await store.appendCheckpoint()
                        case 1: try await fixture.upload(fixture.watchlist, in: store, token: a.id)
                        case 2: try await fixture.upload(fixture.bulk, in: store, token: b.id)
                        default:
                            try await store.auditRefusal(
                                actor: .unauthenticated, reason: "unauthenticated", route: "/x")
                        }
                    }
                }
                try await group.waitForAll()
            }
            // A run claimed by one server, with a live lease: the others neither requeue nor claim it.
            let run = try await stores[0].queueRun(
                project: fixture.project, requester: fixture.watchlist, upload: nil, id: "r-shared",
                by: fixture.acting(fixture.watchlist)
            ).run
            let claimed = try #require(try await stores[0].claimNextRun(maximumAttempts: 3))
            #expect(claimed.id == run.id)
            try await stores[1].requeueInterruptedRuns()
            #expect(try await stores[1].run(id: run.id)?.status == .running)
            #expect(try await stores[2].claimNextRun(maximumAttempts: 3) == nil)
            #expect(try await stores[0].renewLease(run: run.id, attempt: claimed.attempt))
            #expect(try await stores[1].renewLease(run: run.id, attempt: claimed.attempt) == false)
            // Cancelled through another server: the running server's next heartbeat learns it.
            _ = try await stores[2].cancelRun(claimed, by: fixture.acting(fixture.watchlist))
            #expect(try await stores[0].renewLease(run: run.id, attempt: claimed.attempt) == false)
            #expect(try await stores[0].finish(claimed, outcome: .failed(code: "internal", message: "x")) == false)

            try await stores[1].appendCheckpoint()
            var lines: [[UInt8]] = []
            while true {
                let batch = try await stores[2].auditLines(from: lines.count, through: Int.max, limit: 1000)
                lines += batch
                if batch.count < 1000 { break }
            }
            var bytes: [UInt8] = []
            for line in lines { bytes += line + [0x0A] }
            let verification = AuditVerification(jsonLines: bytes, publicKey: key.publicKey)
            #expect(verification.isValid, "\(verification.firstFailure.map { "\($0)" } ?? "")")
            #expect(verification.entryCount == lines.count && lines.count > 35)
            // Each server's follower has checked the lines the others appended.
            for store in stores { try await store.verifyWholeChain() }
        } catch {
            for pool in pools { await pool.close() }
            throw error
        }
        for pool in pools { await pool.close() }
    }

    /// A password in the URL is refused; the location never prints the password.
    @Test func locationRefusesPasswordsInTheURL() throws {
        #expect(throws: ServerError.self) { try PostgresLocation(url: "postgres://user:secret@db.example/blindmatch") }
        let location = try PostgresLocation(url: "postgres://user@db.example:6543/blindmatch")
            .withPassword(file: nil, environment: [PostgresLocation.passwordVariable: "hunter2"])
        #expect(location.port == 6543 && location.tls == .require && location.password == "hunter2")
        #expect(!location.description.contains("hunter2"))
        #expect(try PostgresLocation(url: "postgres://user@127.0.0.1/db").tls == .disable)
        #expect(throws: ServerError.self) { try PostgresLocation(url: "postgres://user@host/db?sslmode=allow") }
        #expect(throws: ServerError.self) { try PostgresLocation(url: "postgres://host/db") }
        // The password file is a secret file: others may not read it.
        let file = NSTemporaryDirectory() + "blindmatch-password-" + UUID().uuidString
        defer { unlink(file) }
        #expect(FileManager.default.createFile(atPath: file, contents: Data("hunter2\n".utf8)))
        chmod(file, 0o644)
        #expect(throws: ProtocolError.self) { try location.withPassword(file: file, environment: [:]) }
        chmod(file, 0o600)
        #expect(try location.withPassword(file: file, environment: [:]).password == "hunter2")
    }
}
