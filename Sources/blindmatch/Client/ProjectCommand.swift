import ArgumentParser
import BlindmatchMatching

struct ProjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Create, show, list and close projects on the matching service.",
        discussion:
            "A project is one legal gateway between two agencies: its purpose and legal basis, the schema fingerprint and key id every upload must carry, a watch-list party and a bulk party with their public keys, the matching settings and the disclosure policy (Protocol/service.md, \"Projects\"). Creating and closing are for the operator; operators, auditors and the project's parties can read it.",
        subcommands: [
            ProjectCreateCommand.self, ProjectShowCommand.self, ProjectListCommand.self, ProjectCloseCommand.self,
        ])
}

struct ProjectShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a project: parties and key fingerprints, settings, disclosure policy, status.",
        discussion:
            "Each party sees the whole policy, so it knows what the other side learns. With --json, prints the server's answer as it came (Protocol/openapi.yaml, Project)."
    )

    @OptionGroup var connection: ServiceConnection

    @Argument(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var id: String

    @Flag(help: "Print the project as JSON, as the server sent it.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let endpoint = Endpoint(.GET, "projects", id)
            try await connection.withClient { client in
                let (_, bytes) = try await client.jsonBytes(endpoint)
                if json {
                    let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
                    Console.output(text.hasSuffix("\n") ? text : text + "\n")
                } else {
                    let project = try client.decode(ServiceAPI.Project.self, from: bytes, for: endpoint)
                    Console.output("\(project.id.printable)\n\(ProjectSummary.text(of: project))")
                }
            }
        }
    }
}

struct ProjectListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List projects, newest first (a party token sees only its own).")

    @OptionGroup var connection: ServiceConnection

    @Option(help: ArgumentHelp("Only projects with this status: open or closed.", valueName: "status"))
    var status: String?

    func validate() throws {
        if let status, status != "open" && status != "closed" {
            throw ValidationError("--status must be open or closed")
        }
    }

    func run() async throws {
        try await reportingErrors {
            var endpoint = Endpoint(.GET, "projects")
            if let status { endpoint.query.append(("status", status)) }
            let projects = try await connection.withClient { client in
                try await client.all(endpoint, pages: ServiceAPI.ProjectPage.self)
            }
            let rows = projects.map { project in
                [
                    project.id, project.status.rawValue, project.createdAt,
                    project.parties.map { "\($0.role.rawValue) \($0.name)" }.joined(separator: ", "), project.name,
                ]
            }
            Console.output(Table.render(header: ["ID", "STATUS", "CREATED", "PARTIES", "NAME"], rows: rows))
        }
    }
}

struct ProjectCloseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "close",
        abstract: "Close a project: its token files and results are destroyed, its party tokens revoked.",
        discussion:
            "Operator only; cannot be undone. Queued and running runs fail (projectClosed); metadata (project, uploads, runs) stays for auditors. The reason goes into the audit log: no personal data."
    )

    @OptionGroup var connection: ServiceConnection

    @Argument(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var id: String

    @Option(help: ArgumentHelp("Why, for the audit log (at most 200 characters).", valueName: "text"))
    var reason: String

    func run() async throws {
        try await reportingErrors {
            let project: ServiceAPI.Project = try await connection.withClient { client in
                try await client.json(
                    Endpoint(.POST, "projects", id, "close"), sending: ServiceAPI.CloseRequest(reason: reason))
            }
            Console.output("\(project.id.printable)\n\(ProjectSummary.text(of: project))")
        }
    }
}

/// A project as the `project` commands print it: one fact per line, fingerprints in full (to compare with the
/// ones obtained out of band), free text made printable.
enum ProjectSummary {
    static func text(of project: ServiceAPI.Project) -> String {
        var lines = [
            "name: \(project.name)",
            "status: \(project.status.rawValue)" + (project.closedAt.map { " since \($0)" } ?? "")
                + (project.closeReason.map { " (\($0))" } ?? ""),
            "purpose: \(project.purpose)",
            "legal basis: \(project.legalBasis)",
            "schema fingerprint: \(project.schemaFingerprint)",
            "layout: "
                + (project.layout.map {
                    "\($0.filterBits)-bit filters, match keys \($0.matchKeys.joined(separator: ", ")), "
                        + "blocking keys \($0.blockingKeys.isEmpty ? "none" : $0.blockingKeys.joined(separator: ", "))"
                } ?? "set by the first upload (a project made before layouts were recorded)"),
            "key id: \(project.keyId)",
        ]
        for party in project.parties {
            lines.append(
                "\(party.role.rawValue) party: \(party.name), key fingerprint \(party.publicKey.fingerprint), "
                    + "registered \(party.registeredAt) by \(party.registeredBy)"
                    + (party.registeredByToken.map { " (token \($0))" } ?? ""))
        }
        lines.append("matching: \(settings(project.matching))")
        let decimals = project.disclosure.scoreDecimals
        lines.append("disclosure (scores to \(decimals) decimals):")
        for role in ServiceAPI.PartyRole.allCases {
            guard let grant = project.disclosure.grants.first(where: { $0.role == role }) else {
                lines.append("  \(role.rawValue) party reads nothing")
                continue
            }
            lines.append("  \(role.rawValue) party \(reading(grant))")
        }
        lines.append("run policy: \(runPolicy(project.runPolicy))")
        lines.append("created: \(project.createdAt)")
        return lines.map { $0.printable + "\n" }.joined()
    }

    /// What a grant lets its party read: `reads row, counterpartRow of match and possible pairs`.
    static func reading(_ grant: ServiceAPI.DisclosureGrant) -> String {
        "reads \(grant.fields.map(\.rawValue).joined(separator: ", ")) of "
            + "\(grant.statuses.map(\.rawValue).joined(separator: " and ")) pairs"
    }

    /// A run policy in one line: `watchlist requests, bulk approves; uploads of at least 100 watchlist and 1,000 bulk
    /// records; at most 10 runs a day`.
    static func runPolicy(_ policy: ServiceAPI.RunPolicyResolved) -> String {
        let requesters = policy.requesters.map(\.rawValue).joined(separator: " or ")
        let approvers =
            policy.approvers.isEmpty
            ? "no approval needed" : policy.approvers.map(\.rawValue).joined(separator: " and ") + " approves"
        return "\(requesters) requests, \(approvers); uploads of at least "
            + "\(Format.count(policy.minimumRecords.watchlist)) watchlist and \(Format.count(policy.minimumRecords.bulk)) bulk records; "
            + "at most \(policy.runsPerDay) runs requested a day"
    }

    /// Matching settings in one line: `threshold 0.85, review from 0.75, solver many-to-one, veto nino, blocking`.
    static func settings(_ settings: ServiceAPI.MatchingSettingsResolved) -> String {
        let automatic = settings.threshold == NamedMatchSettings.automatic
        var parts = [
            automatic ? "threshold auto (chosen by each run's decision model)" : "threshold \(settings.threshold)"
        ]
        parts.append(settings.reviewFrom.map { "review from \($0)" } ?? "no review band")
        parts.append("solver \(settings.solver.rawValue)")
        let veto = settings.vetoKeys.isEmpty ? "no veto" : "veto \(settings.vetoKeys.joined(separator: ", "))"
        parts.append(automatic ? "\(veto) (where the model cannot choose)" : veto)
        parts.append(settings.blocking ? "blocking" : "no blocking")
        return parts.joined(separator: ", ")
    }
}
