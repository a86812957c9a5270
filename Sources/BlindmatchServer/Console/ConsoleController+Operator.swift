import BlindmatchAudit
import BlindmatchContract
import BlindmatchProtocol
import Glibc
import HTTPTypes
import Hummingbird

/// The operator's pages: tokens (issue, revoke) and the service's health and metrics.
extension ConsoleController {
    /// `GET /console/tokens`: valid tokens, as `GET /tokens` lists them.
    @Sendable func tokenList(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let listing = try await store.tokens(try ConsoleFormat.page(request), project: nil, includeRevoked: false)
        var values: [String: Any] = [
            "items": listing.items.map {
                [
                    "id": $0.id, "role": $0.role.rawValue, "name": $0.name, "project": $0.project ?? "—",
                    "issuedAt": $0.issuedAt, "expiresAt": $0.expiresAt ?? "never",
                ]
            }
        ]
        if let next = listing.nextBefore { values["next"] = next }
        return page("tokens", title: "Tokens", values, viewer: viewer, current: "/console/tokens")
    }

    /// `POST /console/tokens`: as `POST /tokens`, checked by the same rules (``TokenDraft``); the secret is shown
    /// once, on the reply, which no cache keeps.
    @Sendable func issueToken(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _ form: ConsoleForm
    ) async throws -> Response {
        let body: Components.Schemas.TokenRequest
        switch form["role"] {
        case "party":
            body = .PartyTokenRequest(
                .init(
                    role: .party, project: form.text("project") ?? "", party: form.text("party") ?? "",
                    expiresAt: form.text("expiresAt")))
        case "auditor", "operator":
            body = .StaffTokenRequest(
                .init(
                    role: form["role"] == "auditor" ? .auditor : ._operator, name: form.text("name") ?? "",
                    expiresAt: form.text("expiresAt")))
        default:
            throw APIError.malformed("role must be operator, auditor or party")
        }
        let (secret, record) = try await store.issueToken(try TokenDraft(body), by: viewer.token.acting)
        return page(
            "issued", title: "Token issued",
            ["id": record.id, "role": record.role.rawValue, "name": record.name, "secret": secret], viewer: viewer,
            current: "/console/tokens", status: .created, headers: [.cacheControl: "no-store"])
    }

    /// `GET /console/tokens/{tokenId}/revoke`: the confirmation form.
    @Sendable func revokeForm(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let token = try await existingToken(context)
        return page(
            "confirm", title: "Revoke \(token.id)",
            [
                "heading": "Revoke token \(token.id)?",
                "warning":
                    "Its holder (\(token.role.rawValue) \(token.name)) can no longer use it, and console sessions opened with it end. It cannot be undone.",
                "action": "/console/tokens/\(token.id)/revoke", "reason": false,
                "confirmLabel": "I want to revoke \(token.id)", "button": "Revoke the token",
                "backHref": "/console/tokens", "backLabel": "Tokens",
            ], viewer: viewer, current: "/console/tokens")
    }

    /// `POST /console/tokens/{tokenId}/revoke`: as `DELETE /tokens/{tokenId}`, once confirmed.
    @Sendable func revokeToken(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _ form: ConsoleForm
    ) async throws -> Response {
        let token = try await existingToken(context)
        guard form["confirm"] == "yes" else { throw APIError.invalid("tick the box to confirm") }
        guard let revoked = try await store.revokeToken(id: token.id, by: viewer.token.acting) else {
            throw APIError.notFound("no token \(Identifier.printable(token.id))")
        }
        return page(
            "done", title: "Token revoked",
            [
                "heading": "Token revoked",
                "message": "Token \(revoked.id) is revoked since \(revoked.revokedAt ?? "now").",
                "nextHref": "/console/tokens", "nextLabel": "Back to the tokens",
            ], viewer: viewer, current: "/console/tokens")
    }

    private func existingToken(_ context: ServiceRequestContext) async throws -> TokenRecord {
        let id = context.parameter("tokenId")
        guard let token = try await store.token(id: id) else {
            throw APIError.notFound("no token \(Identifier.printable(id))")
        }
        return token
    }

    /// `GET /console/service`: what `/healthz` and `/metrics` report.
    @Sendable func servicePage(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let storeAnswers = await store.isHealthy()
        let writable = access(dataDirectory, W_OK) == 0
        let snapshot = try await store.metrics()
        var metrics: [(String, String)] = []
        for status in ProjectStatus.allCases {
            metrics.append(("Projects \(status.rawValue)", ConsoleFormat.count(snapshot.projects[status] ?? 0)))
        }
        for status in RunStatus.allCases {
            metrics.append(("Runs \(status.rawValue)", ConsoleFormat.count(snapshot.runs[status] ?? 0)))
        }
        metrics += [
            ("Comparisons in all", ConsoleFormat.count(snapshot.comparisons)),
            ("Comparisons per second, last run", ConsoleFormat.count(snapshot.lastRunPerSecond, withheld: false)),
            ("Uploads accepted", ConsoleFormat.count(snapshot.uploadsAccepted)),
            ("Uploads refused", ConsoleFormat.count(snapshot.uploadsRefused)),
            ("Upload bytes in all", ConsoleFormat.count(snapshot.uploadBytes)),
            ("Largest upload, bytes", ConsoleFormat.count(snapshot.uploadLargest)),
        ]
        return page(
            "service", title: "Health and metrics",
            [
                "healthy": storeAnswers && writable, "storeAnswers": storeAnswers, "writable": writable,
                "metrics": metrics.map { ["name": $0.0, "value": $0.1] },
            ], viewer: viewer, current: "/console/service")
    }
}
