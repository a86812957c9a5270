import BlindmatchAudit
import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// Projects, their uploads, and closing a project.
extension ConsoleController {
    /// `GET /console/projects`: as `GET /projects`, a party sees only its own project.
    @Sendable func projectList(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let only = viewer.token.role == .party ? (viewer.token.project ?? "") : nil
        let listing = try await store.projects(try ConsoleFormat.page(request), status: nil, only: only)
        let items: [[String: Any]] = listing.items.map {
            [
                "id": $0.id, "name": $0.name, "status": $0.status.rawValue, "legalBasis": $0.legalBasis,
                "createdAt": $0.createdAt,
            ]
        }
        var values: [String: Any] = ["items": items, "hasItems": !items.isEmpty]
        if let next = listing.nextBefore { values["next"] = next }
        return page("projects", title: "Projects", values, viewer: viewer, current: "/console/projects")
    }

    /// `GET /console/projects/{projectId}`: what `GET /projects/{projectId}` replies, laid out.
    @Sendable func projectPage(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let project = try await store.project(in: context)
        let wire = try ContractEncoder().encode(project.wire)
        var sections: [[String: Any]] = []
        for (title, member, empty) in [
            ("Matching settings", "matching", "None recorded."), ("Upload layout", "layout", "Not recorded yet."),
            ("Run policy", "runPolicy", "This project records no run policy: the service's defaults apply."),
        ] {
            let rows = ConsoleFormat.rows(of: wire[member])
            sections.append(["title": title, "rows": rows, "hasRows": !rows.isEmpty, "empty": empty])
        }
        var values: [String: Any] = [
            "id": project.id, "name": project.name, "status": project.status.rawValue, "purpose": project.purpose,
            "legalBasis": project.legalBasis, "createdAt": project.createdAt,
            "schemaFingerprint": project.schemaFingerprint, "keyId": project.keyId,
            "parties": project.parties.map { party -> [String: Any] in
                var row: [String: Any] = [
                    "name": party.name, "role": party.role.rawValue, "fingerprint": party.publicKey.fingerprint,
                    "registeredAt": "\(party.registeredAt) by \(party.registeredBy)",
                ]
                if project.isOpen && allows("PUT /projects/{projectId}/parties/{party}/public-key", viewer) {
                    row["rotateHref"] = "/console/projects/\(project.id)/parties/\(party.name)/key"
                }
                return row
            },
            "sections": sections, "scoreDecimals": project.disclosure.scoreDecimals,
            "grants": project.disclosure.grants.map {
                [
                    "role": $0.role.rawValue, "fields": $0.fields.map(\.rawValue).joined(separator: ", "),
                    "statuses": $0.statuses.map(\.rawValue).joined(separator: ", "),
                ]
            },
            "canClose": project.isOpen && allows("POST /projects/{projectId}/close", viewer),
        ]
        if let closedAt = project.closedAt {
            values["closedAt"] = closedAt
            values["closeReason"] = project.closeReason ?? ""
        }
        return page("project", title: project.name, values, viewer: viewer, current: "/console/projects")
    }

    /// `GET /console/projects/{projectId}/uploads`: accepted uploads as `GET …/uploads` lists them (a party its
    /// own only) and, for those who may read the audit log, the refused ones from it.
    @Sendable func uploadList(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let project = try await store.project(in: context)
        let party = viewer.token.role == .party ? viewer.token.party : nil
        let uploads = try await store.uploads(PageRequest(limit: 200, before: nil), project: project.id, party: party)
        let showRefused = allows("GET /audit/log", viewer)
        var refused: [[String: Any]] = []
        if showRefused {
            for entry in try await store.auditEntries(action: .uploadRefused, project: project.id, limit: 200) {
                refused.append([
                    "seq": entry.seq, "time": entry.time.text, "actor": entry.actor.text,
                    "reason": entry.details["reason"]?.stringValue ?? "",
                ])
            }
        }
        let values: [String: Any] = [
            "id": project.id, "name": project.name, "isParty": party != nil,
            "accepted": uploads.items.map {
                [
                    "id": $0.id, "party": $0.party, "records": ConsoleFormat.count($0.records),
                    "bytes": ConsoleFormat.count($0.bytes), "sha": String($0.sha256.prefix(16)) + "…",
                    "signer": String($0.signer.prefix(16)) + "…", "receivedAt": $0.receivedAt, "current": $0.current,
                ]
            },
            "showRefused": showRefused, "refused": refused,
        ]
        return page(
            "uploads", title: "Uploads of \(project.name)", values, viewer: viewer, current: "/console/projects")
    }

    /// `GET /console/projects/{projectId}/close`: the confirmation form.
    @Sendable func closeForm(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let project = try await store.project(in: context)
        guard project.isOpen else { throw APIError.projectClosed(project.id) }
        return page(
            "confirm", title: "Close \(project.name)",
            [
                "heading": "Close project \(project.name)?",
                "warning":
                    "Closing fails its queued and running runs, destroys its results and token files, and revokes its party tokens. It cannot be undone.",
                "action": "/console/projects/\(project.id)/close", "reason": true,
                "confirmLabel": "I understand that closing \(project.id) destroys its results and cannot be undone",
                "button": "Close the project", "backHref": "/console/projects/\(project.id)", "backLabel": project.name,
            ], viewer: viewer, current: "/console/projects")
    }

    /// `POST /console/projects/{projectId}/close`: as `POST /projects/{projectId}/close`, once confirmed.
    @Sendable func closeProject(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _ form: ConsoleForm
    ) async throws -> Response {
        let existing = try await store.project(in: context)
        let reason = try Rule.text(form.text("reason") ?? "", "reason", maximum: 200)
        guard form["confirm"] == "yes" else { throw APIError.invalid("tick the box to confirm") }
        guard existing.isOpen else { throw APIError.projectClosed(existing.id) }
        await board.cancel(project: existing.id)
        let files = self.files
        let project = try await store.closeProject(id: existing.id, reason: reason, by: viewer.token.acting) {
            orphans in
            for sha in orphans { files.remove(sha256: sha) }
        }
        return page(
            "done", title: "Project closed",
            [
                "heading": "Project closed", "message": "\(project.name) (\(project.id)) is closed: \(reason).",
                "nextHref": "/console/projects/\(project.id)", "nextLabel": "Back to the project",
            ], viewer: viewer, current: "/console/projects")
    }

    /// `GET /console/projects/{projectId}/parties/{party}/key`: the form for a party's new key, with confirmation.
    @Sendable func keyForm(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let (project, party) = try await projectParty(context)
        guard project.isOpen else { throw APIError.projectClosed(project.id) }
        return page(
            "confirm", title: "Replace \(party.name)'s key",
            [
                "heading": "Replace the signing key of \(party.name)?",
                "warning":
                    "Uploads are checked against the registered key: once replaced, only files signed with the new key are accepted from \(party.name). Do this only on the party's request, with its new public key obtained from it directly.",
                "action": "/console/projects/\(project.id)/parties/\(party.name)/key", "reason": false, "pem": true,
                "current": party.publicKey.fingerprint,
                "confirmLabel": "\(party.name) asked for this key to replace its current one",
                "button": "Replace the key", "backHref": "/console/projects/\(project.id)", "backLabel": project.name,
            ], viewer: viewer, current: "/console/projects")
    }

    /// `POST /console/projects/{projectId}/parties/{party}/key`: as `PUT …/public-key`, once confirmed, with the
    /// API's own checks (``ProjectsController/replaceKey(of:party:with:by:)``).
    @Sendable func replaceKey(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _ form: ConsoleForm
    ) async throws -> Response {
        let (project, party) = try await projectParty(context)
        let key = try ProjectRequest.publicKey(
            .PemPublicKeyInput(.init(pem: (form["pem"] ?? "").replacingOccurrences(of: "\r\n", with: "\n"))),
            at: "the key")
        guard form["confirm"] == "yes" else { throw APIError.invalid("tick the box to confirm") }
        let replaced = try await ProjectsController(
            store: store, files: files, board: board, allowTestKeys: allowTestKeys
        ).replaceKey(of: project, party: party.name, with: key, by: viewer.token.acting)
        return page(
            "done", title: "Key replaced",
            [
                "heading": "Key replaced",
                "message":
                    "\(replaced.name)'s key is now \(replaced.publicKey.fingerprint) (since \(replaced.registeredAt)).",
                "nextHref": "/console/projects/\(project.id)", "nextLabel": "Back to the project",
            ], viewer: viewer, current: "/console/projects")
    }

    private func projectParty(_ context: ServiceRequestContext) async throws -> (ProjectRecord, PartyRecord) {
        let project = try await store.project(in: context)
        guard let party = project.party(named: context.parameter("party")) else {
            throw APIError.notFound("no party of that name in this project")
        }
        return (project, party)
    }
}
