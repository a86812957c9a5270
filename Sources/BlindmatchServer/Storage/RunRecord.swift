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
        queuedAt = row["queuedAt"]
        startedAt = row["startedAt"]
        finishedAt = row["finishedAt"]
        ordinal = row["ordinal"]
    }

    /// The `Run` schema; `live` is the progress of a run being executed now, which the store does not follow.
    func json(progress live: RunProgress? = nil) -> JSONValue {
        let stage = live?.stage ?? self.stage
        let fraction = min(1, max(0, live?.fraction ?? self.fraction))
        let failure: JSONValue =
            failureCode.map { code in
                .object([("code", .string(code)), ("message", .string(failureMessage ?? code))])
            } ?? .null
        return .object([
            ("id", .string(id)), ("project", .string(project)), ("status", .string(status.rawValue)),
            ("watchlistUpload", .string(watchlistUpload)), ("bulkUpload", .string(bulkUpload)),
            ("settings", settings.json), ("attempt", .integer(attempt)),
            (
                "progress",
                .object([
                    ("stage", .string(stage.rawValue)), ("fraction", .number(String(format: "%.4f", fraction))),
                ])
            ),
            ("summary", summary?.json ?? .null), ("failure", failure), ("requestedBy", .string(requestedBy)),
            ("queuedAt", .string(queuedAt)), ("startedAt", startedAt.map(JSONValue.string) ?? .null),
            ("finishedAt", finishedAt.map(JSONValue.string) ?? .null),
        ])
    }
}

/// A run's stage and how far it is, while it runs.
struct RunProgress: Sendable, Equatable {
    var stage: RunStage
    var fraction: Double
}

/// What a succeeded run counted (`Run.summary`).
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

    init(stored text: String) throws {
        let value = try JSONValue(parsing: text, source: "summary")
        watchlistRecords = value["watchlistRecords"]?.intValue ?? 0
        bulkRecords = value["bulkRecords"]?.intValue ?? 0
        matches = value["matches"]?.intValue ?? 0
        possible = value["possible"]?.intValue ?? 0
        comparisons = value["comparisons"]?.intValue ?? 0
        seconds =
            value["seconds"].flatMap { value -> Double? in
                if case .number(let text) = value { return Double(text) }
                return nil
            } ?? 0
    }

    var json: JSONValue {
        .object([
            ("watchlistRecords", .integer(watchlistRecords)), ("bulkRecords", .integer(bulkRecords)),
            ("matches", .integer(matches)), ("possible", .integer(possible)), ("comparisons", .integer(comparisons)),
            ("seconds", .number(String(format: "%.3f", seconds))),
        ])
    }
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
