import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// The `runs` tag: matching runs, persistent jobs.
struct RunsController<Store: LinkageStore>: Sendable {
    let store: Store
    let board: RunBoard

    func register(in routes: inout RouteRegistry<Store>) {
        routes.add(.post, "/projects/{projectId}/runs", roles: [.party], create)
        routes.add(.get, "/projects/{projectId}/runs", roles: [.operator, .auditor, .party], list)
        routes.add(.get, "/projects/{projectId}/runs/{runId}", roles: [.operator, .auditor, .party], get)
        routes.add(.get, "/projects/{projectId}/runs/{runId}/report", roles: [.operator, .auditor], report)
        routes.add(.post, "/projects/{projectId}/runs/{runId}/approve", roles: [.party], approve)
        routes.add(.post, "/projects/{projectId}/runs/{runId}/cancel", roles: [.operator, .party], cancel)
    }

    /// `POST /projects/{projectId}/runs/{runId}/cancel`: fails a run that has not finished and stops its computation.
    /// The operator, the party that requested it, or a party whose approval it awaits (declining it).
    @Sendable func cancel(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        let run = try await store.run(in: context, of: project)
        if token.role == .party {
            let party = try requireParty(token, of: project)
            let requested = run.requestedBy == token.actor.text
            let declining =
                run.status == .awaitingApproval && project.runPolicy.approvers.contains(party.role)
                && !run.approvals.contains { $0.role == party.role }
            guard requested || declining else {
                throw APIError.forbidden(
                    .forbiddenParty,
                    "a party cancels only a run it requested, or declines one awaiting its approval")
            }
        }
        let cancelled = try await store.cancelRun(run, by: token.acting)
        await board.cancel(run: run.id)
        return try JSONResponse.make(
            cancelled.wire(for: try await viewer(of: cancelled, token: token, project: project)))
    }

    /// `POST /projects/{projectId}/runs`: a party the run policy names as a requester, on its named upload or its
    /// current one, against the other side's current upload.
    @Sendable func create(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        let party = try requireParty(token, of: project)
        guard project.runPolicy.requesters.contains(party.role) else {
            throw APIError.forbidden(
                .forbiddenParty,
                "this project's run policy lets only the \(project.runPolicy.requesters.map(\.rawValue).joined(separator: " and ")) party request runs"
            )
        }
        var named: String?
        if let body = try await request.contractBody(Components.Schemas.RunRequest.self, optional: true) {
            for (side, id) in [(PartyRole.watchlist, body.watchlistUpload), (.bulk, body.bulkUpload)] {
                guard let id else { continue }
                let member = "\(side.rawValue)Upload"
                _ = try Rule.check(id, member, must: "an upload id") { Patterns.isID($0, kind: "u") }
                guard side == party.role else {
                    throw APIError.invalid(
                        "\(member): a party names only its own upload; the other side's is always its current one")
                }
                named = id
            }
        }
        let queued: (run: RunRecord, receipt: Receipt)
        do {
            queued = try await store.queueRun(
                project: project, requester: party, upload: named, id: try Identifier.make("r"), by: token.acting)
        } catch let error as APIError where error.code == .tooManyRuns {
            // A probe that hit the project's cap is itself worth an auditor's eye.
            try await store.auditRefusal(actor: token.actor, reason: error.code.rawValue, route: context.route(request))
            throw error
        }
        let (run, receipt) = queued
        await board.wake()
        return try JSONResponse.make(
            run.wire(for: try await viewer(of: run, token: token, project: project)), status: .accepted,
            headers: [.location: "/projects/\(project.id)/runs/\(run.id)", .blindmatchReceipt: receipt.header])
    }

    /// `POST /projects/{projectId}/runs/{runId}/approve`: a party the run policy names as an approver.
    @Sendable func approve(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        let party = try requireParty(token, of: project)
        guard project.runPolicy.approvers.contains(party.role) else {
            throw APIError.forbidden(
                .forbiddenParty, "this project's run policy does not ask this party to approve runs")
        }
        let run = try await store.run(in: context, of: project)
        let (approved, receipt) = try await store.approveRun(run, project: project, party: party, by: token.acting)
        await board.wake()
        return try JSONResponse.make(
            approved.wire(for: try await viewer(of: approved, token: token, project: project)),
            headers: [.blindmatchReceipt: receipt.header])
    }

    /// The party a party token acts for.
    private func requireParty(_ token: TokenRecord, of project: ProjectRecord) throws -> PartyRecord {
        guard let party = token.party.flatMap(project.party(named:)) else {
            throw APIError.forbidden(.forbiddenParty, "this token's party is not a party of this project")
        }
        return party
    }

    /// `GET /projects/{projectId}/runs`.
    @Sendable func list(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let project = try await store.project(in: context)
        let page = try request.page(listing: "runs")
        var status: RunStatus?
        if let text = request.query("status") {
            guard let value = RunStatus(rawValue: text) else {
                throw APIError.malformed("status must be queued, running, succeeded or failed")
            }
            status = value
        }
        let runs = try await store.runs(page, project: project.id, status: status)
        let token = try context.token
        var rendered: [Components.Schemas.Run] = []
        for run in runs.items {
            rendered.append(
                run.wire(
                    progress: await board.progress(of: run),
                    for: try await viewer(of: run, token: token, project: project)))
        }
        return try Listing.response("runs", Page(items: rendered, nextBefore: runs.nextBefore)) {
            Components.Schemas.RunPage(items: $0, nextCursor: $1)
        }
    }

    /// `GET /projects/{projectId}/runs/{runId}`.
    @Sendable func get(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let project = try await store.project(in: context)
        let run = try await store.run(in: context, of: project)
        return try JSONResponse.make(
            run.wire(
                progress: await board.progress(of: run),
                for: try await viewer(of: run, token: try context.token, project: project)))
    }

    /// `GET /projects/{projectId}/runs/{runId}/report`: the decision model's aggregates, never a row.
    @Sendable func report(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let project = try await store.project(in: context)
        let run = try await store.run(in: context, of: project)
        let text = try await store.report(of: run)
        return JSONResponse.make(try JSONValue(parsing: Array(text.utf8), source: "report"))
    }

    /// Which counts of `run` the caller reads: the operator and auditors all, a party those of its own view for the
    /// statuses its grant names (Protocol/service.md, "What each reply discloses").
    func viewer(of run: RunRecord, token: TokenRecord, project: ProjectRecord) async throws -> RunViewer {
        guard token.role == .party else { return .staff }
        guard let party = token.party.flatMap(project.party(named:)) else { return .party(.bulk, view: [:]) }
        guard run.status == .succeeded, let grant = project.disclosure.grant(for: party.role) else {
            return .party(party.role, view: [:])
        }
        let counts = try await store.viewCounts(run: run.id, role: party.role)
        // Every granted status has a count, 0 when no row of this side has it.
        return .party(party.role, view: Dictionary(uniqueKeysWithValues: grant.statuses.map { ($0, counts[$0] ?? 0) }))
    }
}
