import BlindmatchAudit
import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import GRDB

/// A bearer token's metadata (never the token; the store keeps only its SHA-256).
struct TokenRecord: Sendable {
    enum Role: String, Sendable { case `operator`, auditor, party }

    var id: String
    var role: Role
    var name: String
    var project: String?
    var party: String?
    var issuedAt: String
    var expiresAt: String?
    var revokedAt: String?

    static func fetch(_ db: Database, id: String) throws -> TokenRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [id]).map(TokenRecord.init(row:))
    }

    init(row: Row) throws {
        id = row["id"]
        guard let role = Role(rawValue: row["role"]) else {
            throw ServerError(.storage, "token \(id) has an unknown role in the store")
        }
        self.role = role
        name = row["name"]
        project = row["project"]
        party = row["party"]
        issuedAt = row["issuedAt"]
        expiresAt = row["expiresAt"]
        revokedAt = row["revokedAt"]
    }

    /// The audit actor a request with this token acts as.
    var actor: AuditActor {
        switch role {
        case .operator: .operator
        case .auditor: .auditor(name)
        case .party: .party(party ?? name)
        }
    }

    var json: JSONValue {
        .object([
            ("id", .string(id)), ("role", .string(role.rawValue)), ("name", .string(name)),
            ("project", project.map(JSONValue.string) ?? .null), ("party", party.map(JSONValue.string) ?? .null),
            ("issuedAt", .string(issuedAt)), ("expiresAt", expiresAt.map(JSONValue.string) ?? .null),
            ("revokedAt", revokedAt.map(JSONValue.string) ?? .null),
        ])
    }
}

/// The engine settings a project holds and a run copies, with defaults filled in.
struct MatchingSettings: Sendable, Equatable {
    var threshold: String
    var reviewFrom: String?
    var solver: Solver
    var vetoKeys: [String]
    var blocking: Bool

    var json: JSONValue {
        .object([
            ("threshold", .string(threshold)), ("reviewFrom", reviewFrom.map(JSONValue.string) ?? .null),
            ("solver", .string(solver.rawValue)), ("vetoKeys", .array(vetoKeys.map(JSONValue.string))),
            ("blocking", .bool(blocking)),
        ])
    }

    init(threshold: String, reviewFrom: String?, solver: Solver, vetoKeys: [String], blocking: Bool) {
        self.threshold = threshold
        self.reviewFrom = reviewFrom
        self.solver = solver
        self.vetoKeys = vetoKeys
        self.blocking = blocking
    }

    init(stored text: String) throws {
        let value = try JSONValue(parsing: text, source: "settings")
        threshold = value["threshold"]?.stringValue ?? "1"
        reviewFrom = value["reviewFrom"]?.stringValue
        solver = value["solver"]?.stringValue.flatMap(Solver.init(rawValue:)) ?? .manyToOne
        vetoKeys = value["vetoKeys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        blocking = value["blocking"]?.boolValue ?? true
    }
}

/// What each party role may read (`Protocol/service.md`, "Disclosure policy").
struct DisclosurePolicy: Sendable, Equatable {
    struct Grant: Sendable, Equatable {
        var role: String
        var fields: [String]
        var statuses: [String]
    }

    /// Result fields in the order they are served.
    static let fieldOrder = ["row", "counterpartRow", "rule", "score", "status"]

    var scoreDecimals: Int
    var grants: [Grant]

    func grant(for role: String) -> Grant? { grants.first { $0.role == role } }

    var json: JSONValue {
        .object([
            ("scoreDecimals", .number(String(scoreDecimals))),
            (
                "grants",
                .array(
                    grants.map { grant in
                        .object([
                            ("role", .string(grant.role)), ("fields", .array(grant.fields.map(JSONValue.string))),
                            ("statuses", .array(grant.statuses.map(JSONValue.string))),
                        ])
                    })
            ),
        ])
    }

    init(scoreDecimals: Int, grants: [Grant]) {
        self.scoreDecimals = scoreDecimals
        self.grants = grants
    }

    init(stored text: String) throws {
        let value = try JSONValue(parsing: text, source: "disclosure")
        scoreDecimals = value["scoreDecimals"]?.intValue ?? 2
        grants = (value["grants"]?.arrayValue ?? []).map { grant in
            Grant(
                role: grant["role"]?.stringValue ?? "",
                fields: grant["fields"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                statuses: grant["statuses"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
    }
}

struct PartyRecord: Sendable {
    var name: String
    var role: String
    var publicKey: PublicSigningKey
    var registeredAt: String

    init(row: Row) {
        name = row["name"]
        role = row["role"]
        publicKey = PublicSigningKey(rawBytes: [UInt8](row["publicKey"] as Data))
        registeredAt = row["registeredAt"]
    }

    var json: JSONValue {
        .object([
            ("name", .string(name)), ("role", .string(role)), ("publicKey", publicKey.json),
            ("registeredAt", .string(registeredAt)),
        ])
    }
}

extension PublicSigningKey {
    /// The `PublicKey` schema.
    var json: JSONValue {
        .object([
            ("algorithm", .string("Ed25519")), ("pem", .string(pem())), ("hex", .string(Hex.encode(rawBytes))),
            ("fingerprint", .string(fingerprint)),
        ])
    }
}

struct ProjectRecord: Sendable {
    var id: String
    var name: String
    var purpose: String
    var legalBasis: String
    var schemaFingerprint: String
    var keyId: String
    var matching: MatchingSettings
    var vetoDefaulted: Bool
    var disclosure: DisclosurePolicy
    var status: String
    var createdAt: String
    var closedAt: String?
    var closeReason: String?
    var parties: [PartyRecord]

    var isOpen: Bool { status == "open" }

    /// Every status a project can have, in the order metrics list them.
    static let statuses = ["open", "closed"]

    func party(named name: String) -> PartyRecord? { parties.first { $0.name == name } }
    func party(role: String) -> PartyRecord? { parties.first { $0.role == role } }

    /// 409 `projectClosed` unless the project is open now, in the caller's transaction: for writes that must not
    /// land in a project closed while the request was on its way.
    static func requireOpen(_ db: Database, id: String) throws {
        guard try String.fetchOne(db, sql: "SELECT status FROM project WHERE id = ?", arguments: [id]) == "open" else {
            throw APIError.projectClosed(id)
        }
    }

    static func fetch(_ db: Database, id: String) throws -> ProjectRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM project WHERE id = ?", arguments: [id]) else {
            return nil
        }
        return try ProjectRecord(db, row: row)
    }

    init(_ db: Database, row: Row) throws {
        id = row["id"]
        name = row["name"]
        purpose = row["purpose"]
        legalBasis = row["legalBasis"]
        schemaFingerprint = row["schemaFingerprint"]
        keyId = row["keyId"]
        matching = try MatchingSettings(stored: row["matching"])
        vetoDefaulted = row["vetoDefaulted"]
        disclosure = try DisclosurePolicy(stored: row["disclosure"])
        status = row["status"]
        createdAt = row["createdAt"]
        closedAt = row["closedAt"]
        closeReason = row["closeReason"]
        parties = try Row.fetchAll(
            db, sql: "SELECT * FROM party WHERE project = ? ORDER BY role DESC", arguments: [row["id"] as String]
        ).map(PartyRecord.init(row:))
    }

    var json: JSONValue {
        .object([
            ("id", .string(id)), ("name", .string(name)), ("purpose", .string(purpose)),
            ("legalBasis", .string(legalBasis)), ("schemaFingerprint", .string(schemaFingerprint)),
            ("keyId", .string(keyId)), ("parties", .array(parties.map(\.json))), ("matching", matching.json),
            ("disclosure", disclosure.json), ("status", .string(status)), ("createdAt", .string(createdAt)),
            ("closedAt", closedAt.map(JSONValue.string) ?? .null),
            ("closeReason", closeReason.map(JSONValue.string) ?? .null),
        ])
    }
}

struct UploadRecord: Sendable {
    var id: String
    var project: String
    var party: String
    var sha256: String
    var bytes: Int
    var records: Int
    var signer: String
    var schemaFingerprint: String
    var keyId: String
    var filterBits: Int
    var matchKeys: [String]
    var blockingKeys: [String]
    var fileCreatedAt: String
    var receivedAt: String
    var current: Bool

    init(row: Row, current: Bool) throws {
        id = row["id"]
        project = row["project"]
        party = row["party"]
        sha256 = row["sha256"]
        bytes = row["bytes"]
        records = row["records"]
        signer = row["signer"]
        schemaFingerprint = row["schemaFingerprint"]
        keyId = row["keyId"]
        filterBits = row["filterBits"]
        matchKeys =
            try JSONValue(parsing: row["matchKeys"] as String, source: "matchKeys").arrayValue?.compactMap(
                \.stringValue) ?? []
        blockingKeys =
            try JSONValue(parsing: row["blockingKeys"] as String, source: "blockingKeys").arrayValue?.compactMap(
                \.stringValue) ?? []
        fileCreatedAt = row["fileCreatedAt"]
        receivedAt = row["receivedAt"]
        self.current = current
    }

    /// The upload, with `current` worked out against the party's latest accepted upload.
    static func fetch(_ db: Database, id: String) throws -> UploadRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM upload WHERE id = ?", arguments: [id]) else {
            return nil
        }
        let latest = try latestID(db, project: row["project"], party: row["party"])
        return try UploadRecord(row: row, current: latest == id)
    }

    /// The id of a party's latest accepted upload.
    static func latestID(_ db: Database, project: String, party: String) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT id FROM upload WHERE project = ? AND party = ? ORDER BY ordinal DESC LIMIT 1",
            arguments: [project, party])
    }

    static func current(_ db: Database, project: String, party: String) throws -> UploadRecord? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT * FROM upload WHERE project = ? AND party = ? ORDER BY ordinal DESC LIMIT 1",
                arguments: [project, party])
        else { return nil }
        return try UploadRecord(row: row, current: true)
    }

    var json: JSONValue {
        .object([
            ("id", .string(id)), ("project", .string(project)), ("party", .string(party)),
            ("sha256", .string(sha256)), ("bytes", .number(String(bytes))), ("records", .number(String(records))),
            ("signer", .string(signer)), ("schemaFingerprint", .string(schemaFingerprint)), ("keyId", .string(keyId)),
            ("filterBits", .number(String(filterBits))), ("matchKeys", .array(matchKeys.map(JSONValue.string))),
            ("fileCreatedAt", .string(fileCreatedAt)), ("receivedAt", .string(receivedAt)),
            ("current", .bool(current)),
        ])
    }
}

struct RunRecord: Sendable {
    struct Summary: Sendable {
        var watchlistRecords: Int
        var bulkRecords: Int
        var matches: Int
        var possible: Int
        var comparisons: Int
        var seconds: Double

        var json: JSONValue {
            .object([
                ("watchlistRecords", .number(String(watchlistRecords))),
                ("bulkRecords", .number(String(bulkRecords))), ("matches", .number(String(matches))),
                ("possible", .number(String(possible))), ("comparisons", .number(String(comparisons))),
                ("seconds", .number(String(format: "%.3f", seconds))),
            ])
        }
    }

    var id: String
    var project: String
    var status: String
    var watchlistUpload: String
    var bulkUpload: String
    var settings: MatchingSettings
    var vetoDefaulted: Bool
    var attempt: Int
    var stage: String
    var fraction: Double
    var summary: JSONValue?
    var failureCode: String?
    var failureMessage: String?
    var requestedBy: String
    var queuedAt: String
    var startedAt: String?
    var finishedAt: String?

    /// Every status a run can have, in the order metrics list them.
    static let statuses = ["queued", "running", "succeeded", "failed"]

    init(row: Row) throws {
        id = row["id"]
        project = row["project"]
        status = row["status"]
        watchlistUpload = row["watchlistUpload"]
        bulkUpload = row["bulkUpload"]
        settings = try MatchingSettings(stored: row["settings"])
        vetoDefaulted = row["vetoDefaulted"]
        attempt = row["attempt"]
        stage = row["stage"]
        fraction = row["fraction"]
        summary = try (row["summary"] as String?).map { try JSONValue(parsing: $0, source: "summary") }
        failureCode = row["failureCode"]
        failureMessage = row["failureMessage"]
        requestedBy = row["requestedBy"]
        queuedAt = row["queuedAt"]
        startedAt = row["startedAt"]
        finishedAt = row["finishedAt"]
    }

    static func fetch(_ db: Database, id: String) throws -> RunRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]).map(RunRecord.init(row:))
    }

    func json(progress live: (stage: String, fraction: Double)? = nil) -> JSONValue {
        let stage = live?.stage ?? self.stage
        let fraction = min(1, max(0, live?.fraction ?? self.fraction))
        let failure: JSONValue =
            failureCode.map { code in
                .object([("code", .string(code)), ("message", .string(failureMessage ?? code))])
            } ?? .null
        return .object([
            ("id", .string(id)), ("project", .string(project)), ("status", .string(status)),
            ("watchlistUpload", .string(watchlistUpload)), ("bulkUpload", .string(bulkUpload)),
            ("settings", settings.json), ("attempt", .number(String(attempt))),
            (
                "progress",
                .object([("stage", .string(stage)), ("fraction", .number(String(format: "%.4f", fraction)))])
            ),
            ("summary", summary ?? .null), ("failure", failure), ("requestedBy", .string(requestedBy)),
            ("queuedAt", .string(queuedAt)), ("startedAt", startedAt.map(JSONValue.string) ?? .null),
            ("finishedAt", finishedAt.map(JSONValue.string) ?? .null),
        ])
    }
}

extension JSONValue {
    static func integer(_ value: Int) -> JSONValue { .number(String(value)) }
}
