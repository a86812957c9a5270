import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct ProjectCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a project: its legal basis, its two parties and their keys, matching settings, disclosure.",
        discussion: """
            Operator only. A project is immutable once created (except a party's key rotation, and closing it): a different purpose, legal basis, setting or policy is a new project. The schema's fingerprint and layout (filter length, match and blocking keys) are computed here from --schema and recorded: every upload is checked against them; the key id is the linkage secret's public id (`blindmatch keygen` prints it): the operator never holds the secret itself. Each party's public key is read from its .pub file and sent with its fingerprint; compare the fingerprints printed with the ones the agencies gave you out of band.

            Without --disclosure, the watch-list party reads row, counterpartRow, rule, score and status of its matches (and of possible matches when there is a review band), the bulk party reads only the rows of its matches, and scores are rounded to 2 decimals. A --disclosure file holds the policy as JSON, e.g. {"scoreDecimals": 2, "grants": [{"role": "watchlist", "fields": ["row", "counterpartRow", "rule", "score", "status"], "statuses": ["match"]}, {"role": "bulk", "fields": ["row"], "statuses": ["match"]}]} (Protocol/service.md, "Disclosure policy").

            Prints the new project's id on the first line, then its summary.
            """
    )

    @OptionGroup var connection: ServiceConnection

    @Option(help: ArgumentHelp("The project's name (unique among open projects).", valueName: "text"))
    var name: String

    @Option(help: ArgumentHelp("What the match is for.", valueName: "text"))
    var purpose: String

    @Option(
        name: .customLong("legal-basis"),
        help: ArgumentHelp("The legal gateway and data-sharing agreement that allow it.", valueName: "text"))
    var legalBasis: String

    @Option(
        help: ArgumentHelp(
            "The project's linkage schema: its fingerprint and layout (filter length, match and blocking keys) are recorded, and every upload is checked against them.",
            valueName: "schema.json"))
    var schema: String

    @Option(
        name: .customLong("key-id"),
        help: ArgumentHelp("The linkage secret's key id, as `keygen` printed it (32 hex digits).", valueName: "hex"))
    var keyID: String

    @Option(
        help: ArgumentHelp(
            "The watch-list party (side A): its name and its signing public key.", valueName: "name=key.pub"))
    var watchlist: String

    @Option(
        help: ArgumentHelp("The bulk party (side B): its name and its signing public key.", valueName: "name=key.pub"))
    var bulk: String

    @OptionGroup var settings: MatchSettingsOptions

    @Option(
        help: ArgumentHelp(
            "The disclosure policy (JSON); without it, the default described above.", valueName: "policy.json"))
    var disclosure: String?

    @Option(
        name: .customLong("requesters"),
        help: ArgumentHelp(
            "Who may request runs: watchlist, bulk or watchlist,bulk (default: watchlist).", valueName: "roles"))
    var requesters: String?

    @Option(
        name: .customLong("approvers"),
        help: ArgumentHelp(
            "Who must approve each run: watchlist, bulk, watchlist,bulk or none (default: bulk).", valueName: "roles"))
    var approvers: String?

    @Option(
        name: .customLong("minimum-records"),
        help: ArgumentHelp(
            "The smallest uploads accepted, as watchlist=N,bulk=M (default: watchlist=100,bulk=1000).",
            valueName: "sizes"))
    var minimumRecords: String?

    @Option(
        name: .customLong("runs-per-day"),
        help: ArgumentHelp("The most runs requested in any 24 hours, 1–1000 (default: 10).", valueName: "n"))
    var runsPerDay: Int?

    /// The `RunPolicy` the options give; members not given are the service's defaults.
    func runPolicy() throws -> ServiceAPI.RunPolicy {
        func roles(_ text: String?, option: String, allowNone: Bool) throws -> [ServiceAPI.PartyRole]? {
            guard let text else { return nil }
            if allowNone && text == "none" { return [] }
            let roles = text.split(separator: ",").map { ServiceAPI.PartyRole(rawValue: String($0)) }
            guard !roles.isEmpty, roles.allSatisfy({ $0 != nil }), Set(roles).count == roles.count else {
                throw ValidationError(
                    "\(option) must be watchlist, bulk or watchlist,bulk\(allowNone ? ", or none" : "")")
            }
            return roles.compactMap { $0 }
        }
        var minimum: ServiceAPI.RunPolicy.MinimumRecordsPayload?
        if let minimumRecords {
            var sizes: [String: Int] = [:]
            for item in minimumRecords.split(separator: ",") {
                let parts = item.split(separator: "=")
                guard parts.count == 2, ["watchlist", "bulk"].contains(String(parts[0])),
                    sizes[String(parts[0])] == nil,
                    let count = Int(parts[1]), (1...1_000_000_000).contains(count)
                else {
                    throw ValidationError("--minimum-records must be like watchlist=100,bulk=1000 (each 1–1000000000)")
                }
                sizes[String(parts[0])] = count
            }
            minimum = .init(watchlist: sizes["watchlist"], bulk: sizes["bulk"])
        }
        if let runsPerDay, !(1...1_000).contains(runsPerDay) {
            throw ValidationError("--runs-per-day must be from 1 to 1000")
        }
        return ServiceAPI.RunPolicy(
            requesters: try roles(requesters, option: "--requesters", allowNone: false),
            approvers: try roles(approvers, option: "--approvers", allowNone: true), minimumRecords: minimum,
            runsPerDay: runsPerDay)
    }

    func validate() throws {
        _ = try runPolicy()
        guard Self.isHex(keyID.lowercased(), digits: 32) else {
            throw ValidationError("--key-id must be 32 hex digits (the key id `blindmatch keygen` printed)")
        }
        _ = try Self.party(watchlist, option: "--watchlist")
        _ = try Self.party(bulk, option: "--bulk")
    }

    func run() async throws {
        try await reportingErrors {
            let project = try await Self.create(try makeRequest(), connection: connection)
            Console.output("\(project.id.printable)\n\(ProjectSummary.text(of: project))")
        }
    }

    /// Creates the project `request` describes (operator only) and returns it as the server stored it.
    static func create(
        _ request: ServiceAPI.ProjectRequest, connection: ServiceConnection
    ) async throws -> ServiceAPI.Project {
        try await connection.withClient { client in
            try await client.json(Endpoint(.POST, "projects"), sending: request)
        }
    }

    /// The `ProjectRequest`, from the options and the files they name.
    private func makeRequest() throws -> ServiceAPI.ProjectRequest {
        let linkageSchema = try LinkageSchema(contentsOfFile: schema)
        let parties = try [(watchlist, "--watchlist", ServiceAPI.PartyRole.watchlist), (bulk, "--bulk", .bulk)].map {
            argument, option, role in
            let (name, path) = try Self.party(argument, option: option)
            return try Self.party(named: name, role: role, publicKeyFile: path)
        }
        // Without --threshold (or with auto) the service's default, `auto`: each run's fitted model chooses, and
        // falls back to the fixed rule's default for the files' filters where it cannot.
        let threshold =
            settings.isAutomatic
            ? NamedMatchSettings.automatic : settings.threshold(default: DefaultThreshold.text(for: linkageSchema))
        if !settings.isAutomatic { try settings.checkReviewBand(below: threshold) }
        let matching = ServiceAPI.MatchingSettings(
            threshold: threshold, reviewFrom: settings.reviewFrom,
            solver: settings.solver.flatMap(ServiceAPI.Solver.init(rawValue:)),
            vetoKeys: settings.noVeto ? [] : (settings.veto.isEmpty ? nil : settings.veto),
            blocking: !settings.noBlocking)
        return ServiceAPI.ProjectRequest(
            name: name, purpose: purpose, legalBasis: legalBasis,
            schemaFingerprint: linkageSchema.fingerprint, layout: Self.layout(of: linkageSchema),
            keyId: keyID.lowercased(),
            parties: parties, matching: matching,
            disclosure: try disclosure.map(Self.readPolicy)
                ?? Self.defaultPolicy(hasReviewBand: settings.reviewFrom != nil),
            runPolicy: try runPolicy())
    }

    /// What every token file made with `schema` has (SPEC §6.7), as the project records it.
    static func layout(of schema: LinkageSchema) -> ServiceAPI.Layout {
        let layout = schema.tokenFileLayout
        return .init(filterBits: layout.filterBits, matchKeys: layout.matchKeys, blockingKeys: layout.blockingKeys)
    }

    /// A party to register: its name, its role, and the signing public key read from `path`, sent with its
    /// fingerprint so that the server checks the key is the one meant.
    static func party(
        named name: String, role: ServiceAPI.PartyRole, publicKeyFile path: String
    ) throws -> ServiceAPI.PartyRequest {
        let key = try PublicSigningKey(contentsOfFile: path)
        return ServiceAPI.PartyRequest(
            name: name, role: role, publicKey: .PemPublicKeyInput(.init(pem: key.pem(), fingerprint: key.fingerprint)))
    }

    /// The policy used without `--disclosure`: the watch-list party reads every field of its matches (and of its
    /// possible matches when there is a review band); the bulk party reads only which of its rows matched.
    static func defaultPolicy(hasReviewBand: Bool) -> ServiceAPI.DisclosurePolicy {
        ServiceAPI.DisclosurePolicy(
            scoreDecimals: 2,
            grants: [
                ServiceAPI.DisclosureGrant(
                    role: .watchlist, fields: ServiceAPI.ResultField.allCases,
                    statuses: hasReviewBand ? [.match, .possible] : [.match]),
                ServiceAPI.DisclosureGrant(role: .bulk, fields: [.row], statuses: [.match]),
            ])
    }

    /// Reads a policy file, refusing members the contract does not define (a misspelt `scoreDecimals` would
    /// otherwise be dropped silently and the default applied).
    static func readPolicy(_ path: String) throws -> ServiceAPI.DisclosurePolicy {
        let bytes = try FileIO.readAll(path)
        let document = try JSONValue(parsing: bytes, source: path)
        var unknown: [String] = []
        for member in document.objectValue ?? [] where !["scoreDecimals", "grants"].contains(member.key) {
            unknown.append("$.\(member.key)")
        }
        for (index, grant) in (document["grants"]?.arrayValue ?? []).enumerated() {
            for member in grant.objectValue ?? [] where !["role", "fields", "statuses"].contains(member.key) {
                unknown.append("$.grants[\(index)].\(member.key)")
            }
        }
        guard unknown.isEmpty else {
            throw ClientError(
                .invalidArgument,
                "\(path): not a disclosure policy: unknown member \(unknown.joined(separator: ", ")) (Protocol/openapi.yaml, DisclosurePolicy)"
            )
        }
        do {
            return try JSONDecoder().decode(ServiceAPI.DisclosurePolicy.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw ClientError(
                .invalidArgument,
                "\(path): not a disclosure policy: \(error.summary) (Protocol/openapi.yaml, DisclosurePolicy)")
        }
    }

    /// `NAME=FILE` split at the first `=`.
    static func party(_ argument: String, option: String) throws -> (name: String, path: String) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex,
            argument.index(after: equals) != argument.endIndex
        else {
            throw ValidationError("\(option) must be NAME=PUBLIC-KEY-FILE, e.g. agency-a=agency-a.pub")
        }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    private static func isHex(_ text: String, digits: Int) -> Bool {
        text.utf8.count == digits && Hex.decode(text) != nil
    }
}
