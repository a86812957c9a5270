import BlindmatchAudit
import BlindmatchContract
import BlindmatchMatching
import BlindmatchProtocol
import Foundation

/// `blindmatch bench store`: how long each store takes to keep a succeeded run's results, through the store's own
/// path (``LinkageStore/finish(_:outcome:)``: rows in 1,000-row transactions, the views counted, then published).
public enum StoreBenchmark {
    /// Seconds to store and publish a run of `rows` result rows: on SQLite in `directory`, or on the PostgreSQL
    /// database at `database` (a project, two uploads and a run are added to it).
    public static func publishSeconds(rows: Int, directory: String, database: PostgresLocation?) async throws
        -> Double
    {
        let key = try SigningKey.generate()
        if let database {
            let pool = try await PostgresPool.open(database)
            do {
                let seconds = try await measure(
                    try await PostgresLinkageStore(pool: pool, checkpointKey: key), rows: rows)
                await pool.close()
                return seconds
            } catch {
                await pool.close()
                throw error
            }
        }
        let store = try SQLiteLinkageStore(path: directory + "/bench.sqlite", checkpointKey: key)
        return try await measure(store, rows: rows)
    }

    static func measure(_ store: some LinkageStore, rows: Int) async throws -> Double {
        let acting = Acting(actor: .operator, tokenID: nil)
        var parties: [JSONValue] = []
        for (name, role) in [("agency-a", "watchlist"), ("council-b", "bulk")] {
            let pem = try SigningKey.generate().publicKey.pem()
            parties.append(
                .object([
                    ("name", .string(name)), ("role", .string(role)), ("publicKey", .object([("pem", .string(pem))])),
                ]))
        }
        let fingerprint = Hex.encode(try SecureRandom.bytes(32))
        let keyID = Hex.encode(try SecureRandom.bytes(16))
        let body: JSONValue = .object([
            ("name", .string("bench " + keyID)), ("purpose", .string("Benchmark.")),
            ("legalBasis", .string("None: synthetic rows.")),
            ("schemaFingerprint", .string(fingerprint)),
            (
                "layout",
                .object([
                    ("filterBits", .number("1024")), ("matchKeys", .array([.string("k1")])),
                    ("blockingKeys", .array([])),
                ])
            ),
            ("keyId", .string(keyID)), ("parties", .array(parties)),
            ("matching", .object([("threshold", .string("0.85")), ("reviewFrom", .string("0.75"))])),
            (
                "disclosure",
                .object([
                    (
                        "grants",
                        .array([
                            .object([
                                ("role", .string("watchlist")),
                                (
                                    "fields",
                                    .array([
                                        .string("row"), .string("counterpartRow"), .string("rule"), .string("score"),
                                        .string("status"),
                                    ])
                                ),
                                ("statuses", .array([.string("match"), .string("possible")])),
                            ]),
                            .object([
                                ("role", .string("bulk")), ("fields", .array([.string("row")])),
                                ("statuses", .array([.string("match")])),
                            ]),
                        ])
                    )
                ])
            ),
        ])
        var request = try ProjectRequest(
            ContractDecoder.decode(Components.Schemas.ProjectRequest.self, from: body.canonicalText, source: "bench"))
        request.runPolicy = .legacy
        let project = try await store.createProject(request, id: try Identifier.make("p"), by: acting)
        for party in project.parties {
            let draft = TokenDraft(
                role: .auditor, name: "bench-\(party.name)", project: nil, party: nil, expiresAt: nil)
            let token = try await store.issueToken(draft, by: acting).record
            let header = TokenFileHeader(
                schemaFlavour: .native, schemaFingerprint: fingerprint, keyID: keyID, party: party.name,
                recordCount: rows, matchKeys: ["k1"], tokenBytes: 128, filterBits: 1024, hardening: .object([]),
                statistics: .object([]), createdAt: AuditTime.now().text, tool: "bench")
            let upload = NewUpload(
                id: try Identifier.make("u"), project: project.id, party: party.name,
                sha256: Hex.encode(try SecureRandom.bytes(32)), bytes: rows * 322, header: header, signer: "bench")
            _ = try await store.acceptUpload(
                upload, tokenID: token.id, by: acting, checkedAgainst: nil, recheck: { _ in }, place: { true },
                unplace: {})
        }
        let requester = try project.party(role: .watchlist).orThrow()
        _ = try await store.queueRun(
            project: project, requester: requester, upload: nil, id: try Identifier.make("r"), by: acting)
        let run = try await store.claimNextRun(maximumAttempts: 3).orThrow()
        var results: [MatchResult] = []
        results.reserveCapacity(rows)
        for index in 0..<rows {
            let exact = index % 3 == 0
            results.append(
                MatchResult.make(
                    rowA: UInt32(index / 2), rowB: UInt32(index), rule: exact ? .matchKey(0) : .bloom,
                    score: exact ? 1 : 0.8 + Double(index % 100) / 1000, status: index % 5 == 0 ? .possible : .match))
        }
        let summary = RunSummary(
            watchlistRecords: rows, bulkRecords: rows, matches: rows, possible: 0, comparisons: rows, seconds: 1)
        let start = ContinuousClock.now
        let published = try await store.finish(
            run,
            outcome: .succeeded(results: results, matchKeys: ["k1"], report: .empty, summary: summary))
        let elapsed = ContinuousClock.now - start
        guard published else { throw ServerError(.storage, "the benchmark's run was not published") }
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

extension Optional {
    fileprivate func orThrow() throws -> Wrapped {
        guard let self else { throw ServerError(.storage, "the benchmark's store did not answer as expected") }
        return self
    }
}
