import BlindmatchAudit
import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import GRDB
import Hummingbird

extension MatchingService {
    /// `POST /projects`.
    func createProject(_ call: Call) async throws -> Response {
        guard let body = try await call.jsonBody() else { throw APIError.malformed("a body is required") }
        let request = try ProjectRequest(body)
        let actor = try call.token.actor
        let id = try Identifier.make("p")
        let project = try await store.database.write { db -> ProjectRecord in
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM project WHERE keyId = ?", arguments: [request.keyId])
                ?? 0 > 0
            {
                throw APIError.conflict(
                    "keyIdInUse", "another project has this key id: each project needs its own secret (SPEC §1.3)")
            }
            if try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM project WHERE name = ? AND status = 'open'", arguments: [request.name])
                ?? 0 > 0
            {
                throw APIError.conflict("nameTaken", "an open project has this name")
            }
            let now = AuditTime.now().text
            try db.execute(
                sql: """
                    INSERT INTO project (id, name, purpose, legalBasis, schemaFingerprint, keyId, matching,
                        vetoDefaulted, disclosure, status, createdAt, ordinal)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)
                    """,
                arguments: [
                    id, request.name, request.purpose, request.legalBasis, request.schemaFingerprint, request.keyId,
                    request.matching.json.canonicalText, request.vetoDefaulted, request.disclosure.json.canonicalText,
                    now, try ServiceStore.nextOrdinal(db),
                ])
            try ServiceStore.append(
                db, actor: actor, action: .projectCreated, project: id,
                details: [
                    "name": .string(String(request.name.prefix(200))), "schema": .string(request.schemaFingerprint),
                ])
            for party in request.parties {
                try db.execute(
                    sql: "INSERT INTO party (project, name, role, publicKey, registeredAt) VALUES (?, ?, ?, ?, ?)",
                    arguments: [id, party.name, party.role, Data(party.key.rawBytes), now])
                try ServiceStore.append(
                    db, actor: actor, action: .partyRegistered, project: id,
                    details: [
                        "party": .string(party.name), "role": .string(party.role),
                        "key": .string(party.key.fingerprint),
                    ])
            }
            guard let project = try ProjectRecord.fetch(db, id: id) else {
                throw ServerError(.storage, "a project just written cannot be read back")
            }
            return project
        }
        return JSONResponse.make(project.json, status: .created, headers: [.location: "/projects/\(id)"])
    }

    /// `GET /projects`.
    func listProjects(_ call: Call) async throws -> Response {
        let token = try call.token
        var listing = try Listing("projects", table: "project", call: call)
        if let status = call.query("status") {
            guard status == "open" || status == "closed" else {
                throw APIError.malformed("status must be open or closed")
            }
            listing.filter("status = ?", [status])
        }
        if token.role == .party { listing.filter("id = ?", [token.project ?? ""]) }
        let query = listing
        let (items, total) = try await store.database.read { db in
            try query.items(db) { try ProjectRecord(db, row: $0) }
        }
        return listing.response(items.map(\.json), total: total)
    }

    /// The project named in the path, or 404.
    func project(_ call: Call) async throws -> ProjectRecord {
        let id = call.parameter("projectId")
        let project = try await store.database.read { db in try ProjectRecord.fetch(db, id: id) }
        guard let project else { throw APIError.notFound("no project \(Self.printableID(id))") }
        return project
    }

    /// `GET /projects/{projectId}`.
    func getProject(_ call: Call) async throws -> Response {
        JSONResponse.make(try await project(call).json)
    }

    /// `POST /projects/{projectId}/close`: fails queued runs, stops a running one, deletes results and token files no
    /// open project still uses, revokes the party tokens.
    func closeProject(_ call: Call) async throws -> Response {
        let existing = try await project(call)
        guard let body = try await call.jsonBody() else { throw APIError.malformed("a body is required") }
        let reader = try ObjectReader(body)
        try reader.only(["reason"])
        guard
            let reason = try reader.string(
                "reason", required: true, must: "text of 1 to 200 characters", { Patterns.isText($0, maximum: 200) })
        else { throw APIError.malformed("reason is required") }
        guard existing.isOpen else { throw APIError.projectClosed(existing.id) }
        let actor = try call.token.actor
        await scheduler.cancel(project: existing.id)
        let files = self.files
        let project = try await store.database.write { db -> ProjectRecord in
            let id = existing.id
            let now = AuditTime.now().text
            try db.execute(
                sql:
                    "UPDATE project SET status = 'closed', closedAt = ?, closeReason = ? WHERE id = ? AND status = 'open'",
                arguments: [now, reason, id])
            guard db.changesCount > 0 else { throw APIError.projectClosed(id) }
            try ServiceStore.append(
                db, actor: actor, action: .projectClosed, project: id, details: ["reason": .string(reason)])
            for run in try String.fetchAll(
                db, sql: "SELECT id FROM run WHERE project = ? AND status IN ('queued', 'running')", arguments: [id])
            {
                try db.execute(
                    sql: """
                        UPDATE run SET status = 'failed', failureCode = 'projectClosed',
                            failureMessage = 'the project was closed', finishedAt = ? WHERE id = ?
                        """, arguments: [now, run])
                try ServiceStore.append(
                    db, actor: .system, action: .runFailed, project: id,
                    details: ["run": .string(run), "reason": "projectClosed"])
            }
            try db.execute(
                sql: "DELETE FROM result WHERE run IN (SELECT id FROM run WHERE project = ?)", arguments: [id])
            for token in try String.fetchAll(
                db, sql: "SELECT id FROM token WHERE project = ? AND revokedAt IS NULL", arguments: [id])
            {
                try Self.revoke(db, tokenID: token, actor: actor, project: id)
            }
            let orphans = try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT sha256 FROM upload WHERE project = ? AND sha256 NOT IN (
                        SELECT u.sha256 FROM upload u JOIN project p ON p.id = u.project WHERE p.status = 'open')
                    """, arguments: [id])
            // In the transaction, so that no upload of the same content to an open project slips in between.
            for sha in orphans { files.remove(sha256: sha) }
            guard let project = try ProjectRecord.fetch(db, id: id) else {
                throw ServerError(.storage, "a project just written cannot be read back")
            }
            return project
        }
        return JSONResponse.make(project.json)
    }

    /// `PUT /projects/{projectId}/parties/{party}/public-key`.
    func replacePartyKey(_ call: Call) async throws -> Response {
        let existing = try await project(call)
        let name = call.parameter("party")
        guard let party = existing.party(named: name) else {
            throw APIError.notFound("no party of that name in this project")
        }
        guard let body = try await call.jsonBody() else { throw APIError.malformed("a body is required") }
        let key = try ProjectRequest.publicKey(try ObjectReader(body))
        guard existing.isOpen else { throw APIError.projectClosed(existing.id) }
        if existing.parties.contains(where: { $0.name != name && $0.publicKey == key }) {
            throw APIError.conflict("keyInUse", "the other party of this project has this key")
        }
        let actor = try call.token.actor
        let updated = try await store.database.write { db -> PartyRecord in
            try ProjectRecord.requireOpen(db, id: existing.id)
            try db.execute(
                sql: "UPDATE party SET publicKey = ?, registeredAt = ? WHERE project = ? AND name = ?",
                arguments: [Data(key.rawBytes), AuditTime.now().text, existing.id, name])
            try ServiceStore.append(
                db, actor: actor, action: .partyRegistered, project: existing.id,
                details: ["party": .string(name), "role": .string(party.role), "key": .string(key.fingerprint)])
            guard let project = try ProjectRecord.fetch(db, id: existing.id), let party = project.party(named: name)
            else {
                throw ServerError(.storage, "a party just written cannot be read back")
            }
            return party
        }
        return JSONResponse.make(updated.json)
    }
}

/// A `ProjectRequest` body, checked member by member.
struct ProjectRequest {
    struct Party {
        var name: String
        var role: String
        var key: PublicSigningKey
    }

    var name: String
    var purpose: String
    var legalBasis: String
    var schemaFingerprint: String
    var keyId: String
    var parties: [Party]
    var matching: MatchingSettings
    var vetoDefaulted: Bool
    var disclosure: DisclosurePolicy

    init(_ body: JSONValue) throws {
        let reader = try ObjectReader(body)
        try reader.only([
            "name", "purpose", "legalBasis", "schemaFingerprint", "keyId", "parties", "matching", "disclosure",
        ])
        func text(_ key: String, _ maximum: Int) throws -> String {
            guard
                let value = try reader.string(
                    key, required: true, must: "text of 1 to \(maximum) characters without control characters",
                    { Patterns.isText($0, maximum: maximum) })
            else { throw APIError.malformed("\(key) is required") }
            return value
        }
        name = try text("name", 100)
        purpose = try text("purpose", 2000)
        legalBasis = try text("legalBasis", 2000)
        schemaFingerprint =
            try reader.string(
                "schemaFingerprint", required: true, must: "64 lower-case hex digits", { Patterns.isHex($0, count: 64) }
            )
            ?? ""
        keyId =
            try reader.string(
                "keyId", required: true, must: "32 lower-case hex digits", { Patterns.isHex($0, count: 32) }) ?? ""

        guard let partyItems = try reader.array("parties") else { throw APIError.malformed("parties is required") }
        guard partyItems.count == 2 else { throw APIError.malformed("parties must have exactly two items") }
        parties = try partyItems.enumerated().map { index, item in
            let party = try ObjectReader(item, path: "parties[\(index)]")
            try party.only(["name", "role", "publicKey"])
            let name = try party.string("name", required: true, must: "a party name", Patterns.isName) ?? ""
            let role =
                try party.string(
                    "role", required: true, must: "watchlist or bulk", { ["watchlist", "bulk"].contains($0) }) ?? ""
            guard let key = try party.object("publicKey") else {
                throw APIError.malformed("parties[\(index)].publicKey is required")
            }
            return Party(name: name, role: role, key: try Self.publicKey(key))
        }
        guard Set(parties.map(\.role)) == ["watchlist", "bulk"] else {
            throw APIError.invalid("parties must be one watchlist and one bulk party")
        }
        guard parties[0].name != parties[1].name else { throw APIError.invalid("the two parties need different names") }
        guard parties[0].key != parties[1].key else { throw APIError.invalid("the two parties need different keys") }

        guard let matching = try reader.object("matching") else { throw APIError.malformed("matching is required") }
        try matching.only(["threshold", "reviewFrom", "solver", "vetoKeys", "blocking"])
        let threshold =
            try matching.string(
                "threshold", required: true, must: "a Dice score as text, e.g. \"0.85\"", Self.isThreshold) ?? ""
        let reviewFrom: String?
        if case .null = matching.value("reviewFrom") {
            reviewFrom = nil
        } else {
            reviewFrom = try matching.string(
                "reviewFrom", required: false, must: "a Dice score as text, or null", Self.isThreshold)
        }
        let solverName = try matching.string(
            "solver", required: false, must: "many-to-one, one-to-one or all", { Solver(rawValue: $0) != nil })
        let veto = try matching.stringArray("vetoKeys", maxCount: 32, must: "a match-key name", Patterns.isKeyName)
        let blocking = try matching.bool("blocking") ?? true
        guard let thresholdValue = try? DiceThreshold(threshold) else {
            throw APIError.invalid("matching.threshold must be above 0")
        }
        if let reviewFrom {
            guard let value = try? DiceThreshold(reviewFrom) else {
                throw APIError.invalid("matching.reviewFrom must be above 0")
            }
            guard value < thresholdValue else {
                throw APIError.invalid("matching.reviewFrom must be below matching.threshold")
            }
        }
        self.matching = MatchingSettings(
            threshold: threshold, reviewFrom: reviewFrom,
            solver: solverName.flatMap(Solver.init(rawValue:)) ?? .manyToOne,
            vetoKeys: veto ?? ["nino"], blocking: blocking)
        vetoDefaulted = veto == nil

        guard let disclosure = try reader.object("disclosure") else {
            throw APIError.malformed("disclosure is required")
        }
        try disclosure.only(["scoreDecimals", "grants"])
        let decimals = try disclosure.integer("scoreDecimals", in: 1...3) ?? 2
        guard let grantItems = try disclosure.array("grants") else {
            throw APIError.malformed("disclosure.grants is required")
        }
        guard grantItems.count <= 2 else { throw APIError.malformed("disclosure.grants has more than 2 items") }
        var grants: [DisclosurePolicy.Grant] = []
        for (index, item) in grantItems.enumerated() {
            let grant = try ObjectReader(item, path: "disclosure.grants[\(index)]")
            try grant.only(["role", "fields", "statuses"])
            let role =
                try grant.string(
                    "role", required: true, must: "watchlist or bulk", { ["watchlist", "bulk"].contains($0) }) ?? ""
            guard
                let fields = try grant.stringArray(
                    "fields", maxCount: 5, must: "a result field", DisclosurePolicy.fieldOrder.contains),
                !fields.isEmpty
            else { throw APIError.malformed("disclosure.grants[\(index)].fields is required") }
            guard fields.contains("row") else {
                throw APIError.malformed("disclosure.grants[\(index)].fields must include row")
            }
            guard
                let statuses = try grant.stringArray(
                    "statuses", maxCount: 2, must: "match or possible", { ["match", "possible"].contains($0) }),
                !statuses.isEmpty
            else { throw APIError.malformed("disclosure.grants[\(index)].statuses is required") }
            guard !grants.contains(where: { $0.role == role }) else {
                throw APIError.malformed("disclosure.grants has two grants for \(role)")
            }
            if statuses.contains("possible") && reviewFrom == nil {
                throw APIError.invalid("disclosure.grants[\(index)]: possible needs matching.reviewFrom")
            }
            grants.append(
                DisclosurePolicy.Grant(
                    role: role, fields: DisclosurePolicy.fieldOrder.filter(fields.contains),
                    statuses: ["match", "possible"].filter(statuses.contains)))
        }
        self.disclosure = DisclosurePolicy(scoreDecimals: decimals, grants: grants)
    }

    /// A `PublicKeyInput`: exactly one of `pem` and `hex`, and `fingerprint` when given must be the key's.
    static func publicKey(_ input: ObjectReader) throws -> PublicSigningKey {
        try input.only(["pem", "hex", "fingerprint"])
        let pem = try input.string(
            "pem", required: false, must: "a PEM public key of 60 to 400 characters", { (60...400).contains($0.count) })
        let hex = try input.string(
            "hex", required: false, must: "64 lower-case hex digits", { Patterns.isHex($0, count: 64) })
        let fingerprint = try input.string(
            "fingerprint", required: false, must: "64 lower-case hex digits", { Patterns.isHex($0, count: 64) })
        let key: PublicSigningKey
        switch (pem, hex) {
        case (let pem?, nil):
            guard let parsed = PublicSigningKey(pem: pem) else {
                throw APIError(
                    .unprocessableContent, "invalidPublicKey",
                    "\(input.fieldName("pem")) is not a PEM Ed25519 public key")
            }
            key = parsed
        case (nil, let hex?):
            key = PublicSigningKey(rawBytes: Hex.decode(hex) ?? [])
            guard PublicSigningKey(pem: key.pem()) != nil else {
                throw APIError(
                    .unprocessableContent, "invalidPublicKey", "\(input.fieldName("hex")) is not an Ed25519 public key")
            }
        default:
            throw APIError.malformed("\(input.path.isEmpty ? "the key" : input.path) needs exactly one of pem and hex")
        }
        if let fingerprint, fingerprint != key.fingerprint {
            throw APIError(
                .unprocessableContent, "invalidPublicKey",
                "\(input.fieldName("fingerprint")) is not the fingerprint of the key given")
        }
        return key
    }

    static func isThreshold(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, ["0", "1"].contains(parts[0]) else { return false }
        guard parts.count == 2 else { return true }
        let decimals = parts[1]
        guard (1...6).contains(decimals.count), decimals.allSatisfy(\.isASCIIDigitCharacter) else { return false }
        return parts[0] == "0" || decimals.allSatisfy { $0 == "0" }
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
