extension ServiceAPI {
    /// `RunRequest`, the body of `POST /projects/{projectId}/runs`: an absent member means that party's current
    /// upload.
    struct RunRequest: Encodable, Sendable {
        let watchlistUpload: String?
        let bulkUpload: String?
    }

    /// `RunStatus`: `queued ──▶ running ──▶ succeeded | failed` (`Protocol/service.md`, "Runs").
    enum RunStatus: String, Decodable, Sendable, CaseIterable {
        case queued
        case running
        case succeeded
        case failed

        /// Whether the run has ended (succeeded or failed).
        var isFinished: Bool { self == .succeeded || self == .failed }
    }

    /// `Run`: a matching run's status, progress, counts and failure.
    ///
    /// ```yaml
    /// required: [id, project, status, watchlistUpload, bulkUpload, settings, attempt, progress, summary, failure,
    ///   requestedBy, queuedAt, startedAt, finishedAt]
    /// ```
    struct Run: Decodable, Sendable {
        /// `progress`: `stage` one of queued, exact, fuzzy, writing, done; `fraction` of the whole run.
        struct Progress: Decodable, Sendable {
            let stage: String
            let fraction: Double
        }

        /// `summary`: counts, once succeeded.
        struct Summary: Decodable, Sendable {
            let watchlistRecords: Int
            let bulkRecords: Int
            let matches: Int
            let possible: Int
            let comparisons: Int
            let seconds: Double
        }

        /// `failure`: `code` one of incompatibleUploads, vetoKeyUnknown, uploadMissing, projectClosed,
        /// resourceExhausted, internal; the message names the rule, never data.
        struct Failure: Decodable, Sendable {
            let code: String
            let message: String
        }

        let id: String
        let project: String
        let status: RunStatus
        let watchlistUpload: String
        let bulkUpload: String
        let settings: MatchingSettings
        let attempt: Int
        let progress: Progress
        let summary: Summary?
        let failure: Failure?
        /// The audit actor that queued it: `operator` or `party:NAME`.
        let requestedBy: String
        let queuedAt: String
        let startedAt: String?
        let finishedAt: String?
    }
}
