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
        routes.add(.post, "/projects/{projectId}/runs/{runId}/cancel", roles: [.operator], cancel)
    }

    /// `POST /projects/{projectId}/runs/{runId}/cancel`: fails a queued or running run and stops its computation.
    @Sendable func cancel(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let run = try await store.run(in: context, of: try await store.project(in: context))
        let cancelled = try await store.cancelRun(run, by: token.actor)
        await board.cancel(run: run.id)
        return JSONResponse.make(cancelled.json())
    }

    /// `POST /projects/{projectId}/runs`: on the named uploads, or each side's current one.
    @Sendable func create(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        var named: [PartyRole: String] = [:]
        if let body = try await request.jsonBody(optional: true) {
            let reader = try ObjectReader(body)
            try reader.only(["watchlistUpload", "bulkUpload"])
            for side in PartyRole.allCases {
                named[side] = try reader.string(
                    side.rawValue + "Upload", required: false, must: "an upload id", { Patterns.isID($0, kind: "u") })
            }
        }
        let run = try await store.queueRun(
            project: project, uploads: named, id: try Identifier.make("r"), by: token.actor)
        await board.wake()
        return JSONResponse.make(
            run.json(), status: .accepted, headers: [.location: "/projects/\(project.id)/runs/\(run.id)"])
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
        var rendered: [JSONValue] = []
        for run in runs.items { rendered.append(run.json(progress: await board.progress(of: run))) }
        return Listing.response("runs", Page(items: rendered, nextBefore: runs.nextBefore)) { $0 }
    }

    /// `GET /projects/{projectId}/runs/{runId}`.
    @Sendable func get(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let run = try await store.run(in: context, of: try await store.project(in: context))
        return JSONResponse.make(run.json(progress: await board.progress(of: run)))
    }
}
