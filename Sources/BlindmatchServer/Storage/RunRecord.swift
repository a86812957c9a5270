import BlindmatchContract
import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import GRDB

/// A row of `run`: a matching run, a persistent job (`Protocol/service.md`, "Runs").
struct RunRecord: Sendable {
    static let databaseTableName = "run"

    var id: String
    var project: String
    var status: RunStatus
    var watchlistUpload: String
    var bulkUpload: String
    var settings: NamedMatchSettings
    var attempt: Int
    var stage: RunStage
    var fraction: Double
    var summary: RunSummary?
    var failureCode: String?
    var failureMessage: String?
    var requestedBy: String
    /// The approvals given so far, in order (`Run.approvals`).
    var approvals: [Approval]
    var queuedAt: String
    var startedAt: String?
    var finishedAt: String?
    var ordinal: Int

    init(row: Row) throws {
        id = row["id"]
        project = row["project"]
        status = try row.enumValue("status")
        watchlistUpload = row["watchlistUpload"]
        bulkUpload = row["bulkUpload"]
        settings = try NamedMatchSettings(stored: row["settings"], vetoKeysDefaulted: row["vetoDefaulted"])
        attempt = row["attempt"]
        stage = try row.enumValue("stage")
        fraction = row["fraction"]
        summary = try (row["summary"] as String?).map(RunSummary.init(stored:))
        failureCode = row["failureCode"]
        failureMessage = row["failureMessage"]
        requestedBy = row["requestedBy"]
        approvals = try ContractDecoder.decode(
            [Approval].self, from: (row["approvals"] as String?) ?? "[]", source: "approvals")
        queuedAt = row["queuedAt"]
        startedAt = row["startedAt"]
        finishedAt = row["finishedAt"]
        ordinal = row["ordinal"]
    }

    /// The `Run` schema; `live` is the progress of a run being executed now, which the store does not follow.
    func wire(progress live: RunProgress? = nil, for viewer: RunViewer) -> Components.Schemas.Run {
        let stage = live?.stage ?? self.stage
        let fraction = min(1, max(0, live?.fraction ?? self.fraction))
        // A stored code the contract does not know (none is written) reads as `internal` rather than failing the reply.
        let failure = failureCode.map { code in
            Components.Schemas.Run.FailurePayload(
                code: .init(rawValue: code) ?? ._internal, message: failureMessage ?? code)
        }
        return .init(
            id: id, project: project, status: status, watchlistUpload: watchlistUpload, bulkUpload: bulkUpload,
            settings: settings.wire, attempt: attempt,
            progress: .init(stage: stage, fraction: (fraction * 10_000).rounded() / 10_000),
            summary: summary?.wire(for: viewer), failure: failure, requestedBy: requestedBy, approvals: approvals,
            queuedAt: queuedAt,
            startedAt: startedAt, finishedAt: finishedAt)
    }
}

/// A party's approval of a run (`Run.approvals`), as the run's row keeps it.
typealias Approval = Components.Schemas.Run.ApprovalsPayloadPayload

/// A run's stage and how far it is, while it runs.
struct RunProgress: Sendable, Equatable {
    var stage: RunStage
    var fraction: Double
}

/// What a succeeded run counted: every count, as the store keeps it and the operator and auditors read it.
struct RunSummary: Sendable, Equatable {
    var watchlistRecords: Int
    var bulkRecords: Int
    var matches: Int
    var possible: Int
    var comparisons: Int
    var seconds: Double

    init(watchlistRecords: Int, bulkRecords: Int, matches: Int, possible: Int, comparisons: Int, seconds: Double) {
        self.watchlistRecords = watchlistRecords
        self.bulkRecords = bulkRecords
        self.matches = matches
        self.possible = possible
        self.comparisons = comparisons
        self.seconds = seconds
    }

    /// A summary as the store keeps it: `Run.summary`'s canonical JSON, every count present.
    init(stored text: String) throws {
        let stored = try ContractDecoder.decode(
            Components.Schemas.Run.SummaryPayload.self, from: text, source: "summary")
        guard let watchlistRecords = stored.watchlistRecords, let bulkRecords = stored.bulkRecords,
            let matches = stored.matches, let possible = stored.possible, let comparisons = stored.comparisons,
            let seconds = stored.seconds
        else { throw APIError.internal("a stored run summary lacks a count") }
        self.init(
            watchlistRecords: watchlistRecords, bulkRecords: bulkRecords, matches: matches, possible: possible,
            comparisons: comparisons, seconds: seconds)
    }

    /// `Run.summary` with every count, the seconds to the millisecond: what the store keeps.
    var wire: Components.Schemas.Run.SummaryPayload { wire(for: .staff) }

    /// `Run.summary` as `viewer` may read it (Protocol/service.md, "What each reply discloses"): a count outside
    /// its grant is null.
    func wire(for viewer: RunViewer) -> Components.Schemas.Run.SummaryPayload {
        switch viewer {
        case .staff:
            .init(
                watchlistRecords: watchlistRecords, bulkRecords: bulkRecords, matches: matches, possible: possible,
                comparisons: comparisons, seconds: (seconds * 1000).rounded() / 1000)
        case .party(let role, let view):
            // Its own upload's size, which it sent, and the sizes of its own view, which it can read row by row.
            .init(
                watchlistRecords: role == .watchlist ? watchlistRecords : nil,
                bulkRecords: role == .bulk ? bulkRecords : nil, matches: view[.match], possible: view[.possible],
                comparisons: nil, seconds: nil)
        }
    }
}

/// Who reads a run, and so which of its counts they see.
enum RunViewer: Sendable, Equatable {
    /// The operator or an auditor: every count, never a row.
    case staff
    /// A party: `view` holds the distinct rows of its own side per status its grant names (none before the run
    /// succeeded, none without a grant).
    case party(PartyRole, view: [ResultStatus: Int])
}

/// How a run ended, as the executor reports it and the store publishes it.
enum RunOutcome: Sendable {
    /// The pairs (rules named by the files' `matchKeys`), the engine's report and the summary.
    case succeeded(results: [MatchResult], matchKeys: [String], report: MatchEngine.Report, summary: RunSummary)
    /// A failure code of the `RunFailure` schema and its message.
    case failed(code: String, message: String)
    /// The executor lost the run before it ended (its worker died): nothing is published and the run stays
    /// `running`, as after a crash, so that the next start runs it again as a new attempt.
    case interrupted
}
