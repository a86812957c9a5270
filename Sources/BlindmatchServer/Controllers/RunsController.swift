import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// The `runs` tag: matching runs, persistent jobs.
struct RunsController<Store: LinkageStore>: Sendable {
    let store: Store
    let board: RunBoard

    func register(in routes: inout RouteRegistry<Store>) {
        routes.add(.post, "/projects/{projectId}/runs", roles: [.operator, .party], create)
        routes.add(.get, "/projects/{projectId}/runs", roles: [.operator, .auditor, .party], list)
        routes.add(.get, "/projects/{projectId}/runs/{runId}", roles: [.operator, .auditor, .party], get)
        routes.add(.get, "/projects/{projectId}/runs/{runId}/report", roles: [.operator, .auditor], report)
        routes.add(.post, "/projects/{projectId}/runs/{runId}/cancel", roles: [.operator], cancel)
    }

    /// `POST /projects/{projectId}/runs/{runId}/cancel`: fails a queued or running run and stops its computation.
    @Sendable func cancel(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let run = try await store.run(in: context, of: try await store.project(in: context))
        let cancelled = try await store.cancelRun(run, by: token.acting)
        await board.cancel(run: run.id)
        return try JSONResponse.make(cancelled.wire(for: .staff))
    }

    /// `POST /projects/{projectId}/runs`: on the named uploads, or each side's current one.
    @Sendable func create(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        var named: [PartyRole: String] = [:]
        if let body = try await request.contractBody(Components.Schemas.RunRequest.self, optional: true) {
            for (side, id) in [(PartyRole.watchlist, body.watchlistUpload), (.bulk, body.bulkUpload)] {
                named[side] = try id.map {
                    try Rule.check($0, "\(side.rawValue)Upload", must: "an upload id") { Patterns.isID($0, kind: "u") }
                }
            }
        }
        let run = try await store.queueRun(
            project: project, uploads: named, id: try Identifier.make("r"), by: token.acting)
        await board.wake()
        return try JSONResponse.make(
            run.wire(for: try await viewer(of: run, token: token, project: project)), status: .accepted,
            headers: [.location: "/projects/\(project.id)/runs/\(run.id)"])
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
        guard run.status == .succeeded else {
            throw APIError.conflict(.runNotFinished, "run \(run.id) is \(run.status.rawValue)")
        }
        guard let text = try await store.runReport(run: run.id) else {
            throw APIError.notFound("run \(run.id) has no report (it ran before reports were kept)")
        }
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
