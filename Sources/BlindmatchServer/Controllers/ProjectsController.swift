import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// The `projects` tag: projects, their parties, matching settings and disclosure policy.
struct ProjectsController<Store: LinkageStore>: Sendable {
    let store: Store
    let files: TokenFileStore
    let board: RunBoard
    /// Whether the published test keys may be registered (`serve --allow-test-keys`).
    let allowTestKeys: Bool

    func register(in routes: inout RouteRegistry<Store>) {
        routes.add(.post, "/projects", roles: [.operator], create)
        routes.add(.get, "/projects", roles: [.operator, .auditor, .party], list)
        routes.add(.get, "/projects/{projectId}", roles: [.operator, .auditor, .party], get)
        routes.add(.post, "/projects/{projectId}/close", roles: [.operator], close)
        routes.add(.put, "/projects/{projectId}/parties/{party}/public-key", roles: [.operator], replacePartyKey)
    }

    /// `POST /projects`.
    @Sendable func create(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let body = try ProjectRequest(
            try await request.contractBody(
                Components.Schemas.ProjectRequest.self, nullable: ProjectRequest.nullableMembers))
        for (index, party) in body.parties.enumerated() {
            try TestKeys.refuse(party.key, named: "parties[\(index)].publicKey", allowed: allowTestKeys)
        }
        let project = try await store.createProject(
            body, id: try Identifier.make("p"), by: try context.token.acting)
        return try JSONResponse.make(project.wire, status: .created, headers: [.location: "/projects/\(project.id)"])
    }

    /// `GET /projects`: a party token sees only its own project.
    @Sendable func list(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let page = try request.page(listing: "projects")
        var status: ProjectStatus?
        if let text = request.query("status") {
            guard let value = ProjectStatus(rawValue: text) else {
                throw APIError.malformed("status must be open or closed")
            }
            status = value
        }
        let only = token.role == .party ? (token.project ?? "") : nil
        return try Listing.response("projects", try await store.projects(page, status: status, only: only)) {
            Components.Schemas.ProjectPage(items: $0.map(\.wire), nextCursor: $1)
        }
    }

    /// `GET /projects/{projectId}`.
    @Sendable func get(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.project(in: context).wire)
    }

    /// `POST /projects/{projectId}/close`: fails queued runs, stops a running one, deletes results and token files no
    /// open project still uses, revokes the party tokens.
    @Sendable func close(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let existing = try await store.project(in: context)
        let body = try await request.contractBody(Components.Schemas.CloseRequest.self)
        let reason = try Rule.text(body.reason, "reason", maximum: 200)
        guard existing.isOpen else { throw APIError.projectClosed(existing.id) }
        let actor = try context.token.acting
        await board.cancel(project: existing.id)
        let files = self.files
        let project = try await store.closeProject(id: existing.id, reason: reason, by: actor) { orphans in
            for sha in orphans { files.remove(sha256: sha) }
        }
        return try JSONResponse.make(project.wire)
    }

    /// `PUT /projects/{projectId}/parties/{party}/public-key`: key rotation.
    @Sendable func replacePartyKey(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let existing = try await store.project(in: context)
        let name = context.parameter("party")
        guard existing.party(named: name) != nil else {
            throw APIError.notFound("no party of that name in this project")
        }
        let key = try ProjectRequest.publicKey(
            try await request.contractBody(Components.Schemas.PublicKeyInput.self), at: "the body")
        let party = try await replaceKey(of: existing, party: name, with: key, by: try context.token.acting)
        return try JSONResponse.make(party.wire)
    }

    /// The checks on a new key and its registration, once the key is read: for the API and the web console.
    func replaceKey(of existing: ProjectRecord, party name: String, with key: PublicSigningKey, by acting: Acting)
        async throws -> PartyRecord
    {
        try TestKeys.refuse(key, named: "the key", allowed: allowTestKeys)
        guard existing.isOpen else { throw APIError.projectClosed(existing.id) }
        if existing.parties.contains(where: { $0.name != name && $0.publicKey == key }) {
            throw APIError.conflict(.keyInUse, "the other party of this project has this key")
        }
        return try await store.replacePartyKey(project: existing.id, party: name, key: key, by: acting)
    }
}

extension LinkageStore {
    /// The project named in the path, or 404.
    func project(in context: ServiceRequestContext) async throws -> ProjectRecord {
        let id = context.parameter("projectId")
        guard let project = try await project(id: id) else {
            throw APIError.notFound("no project \(Identifier.printable(id))")
        }
        return project
    }

    /// The run named in the path, inside `project`, or 404.
    func run(in context: ServiceRequestContext, of project: ProjectRecord) async throws -> RunRecord {
        let id = context.parameter("runId")
        guard let run = try await run(id: id), run.project == project.id else {
            throw APIError.notFound("no run \(Identifier.printable(id)) in project \(project.id)")
        }
        return run
    }
}
