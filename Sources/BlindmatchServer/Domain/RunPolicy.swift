import BlindmatchAudit
import BlindmatchContract

/// Who may request a run of a project, who must approve it, and the bounds on probing (`Protocol/service.md`,
/// "Consent to run"). Recorded when the project is created and never changed.
struct RunPolicy: Sendable, Equatable {
    /// The party roles that may request a run.
    var requesters: [PartyRole]
    /// The party roles that must each approve a run before the matcher takes it.
    var approvers: [PartyRole]
    /// The smallest upload accepted from each side, in records.
    var minimumRecords: [PartyRole: Int]
    /// The most runs requested in any 24 hours.
    var runsPerDay: Int

    /// The default: the watch-list party requests and the bulk party approves, so neither agency matches against
    /// the other's data on its own initiative; an upload smaller than a real list is refused, and runs are few.
    static let standard = RunPolicy(
        requesters: [.watchlist], approvers: [.bulk], minimumRecords: [.watchlist: 100, .bulk: 1_000],
        runsPerDay: 10)

    /// What a project made before run policies were recorded keeps: either party requests, nobody approves, any
    /// size, no practical cap (as those projects worked).
    static let legacy = RunPolicy(
        requesters: [.watchlist, .bulk], approvers: [], minimumRecords: [.watchlist: 1, .bulk: 1], runsPerDay: 1_000)

    func minimumRecords(for role: PartyRole) -> Int { minimumRecords[role] ?? 1 }

    /// The policy in one line for the audit log's `project.created` entry: `requesters watchlist; approvers bulk;
    /// minimum records 100 watchlist, 1000 bulk; 10 runs a day`.
    var auditText: String {
        let requesters = wire.requesters.map(\.rawValue).joined(separator: ",")
        let approvers = wire.approvers.isEmpty ? "none" : wire.approvers.map(\.rawValue).joined(separator: ",")
        return "requesters \(requesters); approvers \(approvers); minimum records "
            + "\(minimumRecords(for: .watchlist)) watchlist, \(minimumRecords(for: .bulk)) bulk; \(runsPerDay) runs a day"
    }

    /// `RunPolicyResolved`, which is also how the store keeps it.
    var wire: Components.Schemas.RunPolicyResolved {
        .init(
            requesters: PartyRole.allCases.filter(requesters.contains),
            approvers: PartyRole.allCases.filter(approvers.contains),
            minimumRecords: .init(
                watchlist: minimumRecords(for: .watchlist), bulk: minimumRecords(for: .bulk)),
            runsPerDay: runsPerDay)
    }

    /// The canonical JSON the store keeps.
    var storedText: String {
        get throws { try ContractEncoder().canonicalText(wire) }
    }

    init(requesters: [PartyRole], approvers: [PartyRole], minimumRecords: [PartyRole: Int], runsPerDay: Int) {
        self.requesters = requesters
        self.approvers = approvers
        self.minimumRecords = minimumRecords
        self.runsPerDay = runsPerDay
    }

    init(wire: Components.Schemas.RunPolicyResolved) {
        self.init(
            requesters: wire.requesters, approvers: wire.approvers,
            minimumRecords: [.watchlist: wire.minimumRecords.watchlist, .bulk: wire.minimumRecords.bulk],
            runsPerDay: wire.runsPerDay)
    }

    /// A policy as the store keeps it (its canonical JSON).
    init(stored text: String) throws {
        self.init(
            wire: try ContractDecoder.decode(Components.Schemas.RunPolicyResolved.self, from: text, source: "runPolicy")
        )
    }

    /// A `RunPolicy` of a project request: members left out take the ``standard`` values.
    init(request body: Components.Schemas.RunPolicy?) throws {
        let standard = Self.standard
        let requesters = try body?.requesters.map { try Rule.distinct($0, "runPolicy.requesters", count: 1...2) }
        let approvers = try body?.approvers.map { try Rule.distinct($0, "runPolicy.approvers", count: 0...2) }
        var minimum = standard.minimumRecords
        for (role, value) in [
            (PartyRole.watchlist, body?.minimumRecords?.watchlist), (.bulk, body?.minimumRecords?.bulk),
        ] {
            guard let value else { continue }
            guard (1...1_000_000_000).contains(value) else {
                throw APIError.malformed(
                    "runPolicy.minimumRecords.\(role.rawValue) must be an integer from 1 to 1000000000")
            }
            minimum[role] = value
        }
        let perDay = body?.runsPerDay ?? standard.runsPerDay
        guard (1...1_000).contains(perDay) else {
            throw APIError.malformed("runPolicy.runsPerDay must be an integer from 1 to 1000")
        }
        self.init(
            requesters: requesters ?? standard.requesters, approvers: approvers ?? standard.approvers,
            minimumRecords: minimum, runsPerDay: perDay)
    }
}

extension RunPolicy {
    /// The start of the 24 hours `runsPerDay` counts runs in, as the stores' `queuedAt` text.
    static func windowStart(now: AuditTime = AuditTime.now()) -> String {
        AuditTime(secondsSince1970: now.secondsSince1970 - 86_400)?.text ?? now.text
    }
}
