import BlindmatchAudit
import BlindmatchMatching
import BlindmatchProtocol

/// The service's storage seam: every piece of state the service keeps, as domain operations.
///
/// Every operation that changes state appends its audit entry (SPEC §10) in the same transaction, so the log and the
/// state never disagree, even after a crash; operations refuse what the current state forbids by throwing
/// ``APIError`` (a 409 or a 422, decided inside the transaction). Implementations: ``SQLiteLinkageStore`` (the
/// embedded default). Token files themselves live in the ``TokenFileStore``, beside the store.
protocol LinkageStore: Sendable {
    /// The matcher's key that signs checkpoints (SPEC §10.4).
    var checkpointKey: SigningKey { get }

    // MARK: Tokens

    /// The token with this SHA-256, valid or not.
    func token(hash: [UInt8]) async throws -> TokenRecord?
    func token(id: String) async throws -> TokenRecord?
    /// Newest first; revoked tokens only when asked for.
    func tokens(_ page: PageRequest, project: String?, includeRevoked: Bool) async throws -> Page<TokenRecord>
    /// Issues a token (audited as `token.issued`); a party token needs an open project with that party.
    func issueToken(_ draft: TokenDraft, by actor: Acting) async throws -> (secret: String, record: TokenRecord)
    /// The first operator token, when there is no operator token yet; nil otherwise.
    func issueFirstOperatorToken() async throws -> String?
    /// Activates a party token whose party signed its activation message (`TokenActivation`) with the key registered
    /// now (audited as `token.activated`): 422 `activationRefused` for any other signature, 409 `tokenActive` for a
    /// token that is active or needs no activation.
    func activateToken(_ token: TokenRecord, signature: [UInt8], by actor: Acting) async throws -> TokenRecord
    /// Revokes a token (audited); nil for an unknown id; 409 for the last valid operator token.
    func revokeToken(id: String, by actor: Acting) async throws -> TokenRecord?

    // MARK: Projects

    func createProject(_ request: ProjectRequest, id: String, by actor: Acting) async throws -> ProjectRecord
    func project(id: String) async throws -> ProjectRecord?
    /// One party of a project, without the rest of the project (`GET /me` of a party token reads it).
    func party(project: String, name: String) async throws -> PartyRecord?
    /// Newest first; `only` restricts the listing to one project (a party token's).
    func projects(_ page: PageRequest, status: ProjectStatus?, only: String?) async throws -> Page<ProjectRecord>
    /// Closes an open project: fails its queued and running runs, revokes its party tokens, and calls `removeFiles`
    /// with the token files no open project uses any more, inside the transaction; then deletes its results, a chunk
    /// per transaction, before it returns.
    func closeProject(id: String, reason: String, by actor: Acting, removeFiles: @Sendable ([String]) -> Void)
        async throws -> ProjectRecord
    /// Registers a new key for a party of an open project (audited as `party.registered`) and revokes the party's
    /// tokens, which were bound to the old key.
    func replacePartyKey(project: String, party: String, key: PublicSigningKey, by actor: Acting) async throws
        -> PartyRecord

    // MARK: Uploads

    /// The layout the project's uploads share (from its first accepted upload), or nil before the first.
    func uploadLayout(project: String) async throws -> UploadLayout?
    /// Records a checked upload (audited as `upload.accepted`), re-checking inside the transaction what may have
    /// changed while it streamed: the project is still open, the token still valid, and — when the project's layout
    /// changed meanwhile — `recheck` with the new one. `place` moves the file into the token store and returns
    /// whether it placed it now; a failure after that removes it again.
    func acceptUpload(
        _ upload: NewUpload, tokenID: String, by actor: Acting, checkedAgainst layout: UploadLayout?,
        recheck: @Sendable (UploadLayout) throws -> Void, place: @Sendable () throws -> Bool,
        unplace: @Sendable () -> Void
    ) async throws -> (upload: UploadRecord, receipt: Receipt)
    /// Withdraws a party's upload (audited as `upload.withdrawn`): fails the runs that would use it
    /// (`uploadWithdrawn`; the caller stops those computing) and calls `removeFiles` with its file when no upload of
    /// an open project uses it any more, inside the transaction. 409 `uploadWithdrawn` when it was withdrawn already.
    func withdrawUpload(_ upload: UploadRecord, by actor: Acting, removeFiles: @Sendable ([String]) -> Void)
        async throws -> (upload: UploadRecord, failedRuns: [String], receipt: Receipt)
    /// The bytes of the distinct token files a party has stored in a project.
    func storedBytes(project: String, party: String) async throws -> Int64
    /// Audits a refused upload and counts it.
    func refuseUpload(project: String, reason: String, by actor: Acting) async throws
    func upload(id: String) async throws -> UploadRecord?
    /// Newest first, optionally one party's.
    func uploads(_ page: PageRequest, project: String, party: String?) async throws -> Page<UploadRecord>

    // MARK: Runs

    /// Records a run requested by a party of the project (audited as `run.queued`) on the requester's named upload
    /// or its current one, and the other side's current one, under the project's run policy: `awaitingApproval`
    /// while an approver other than the requester has not approved, `queued` otherwise. 429 `tooManyRuns` past
    /// `runPolicy.runsPerDay`.
    func queueRun(project: ProjectRecord, requester: PartyRecord, upload named: String?, id: String, by actor: Acting)
        async throws -> (run: RunRecord, receipt: Receipt)
    /// Records a party's approval of a run awaiting it (audited as `run.approved`); the run is queued once every
    /// approver has approved. 409 `runNotAwaitingApproval` otherwise.
    func approveRun(_ run: RunRecord, project: ProjectRecord, party: PartyRecord, by actor: Acting) async throws
        -> (run: RunRecord, receipt: Receipt)
    func run(id: String) async throws -> RunRecord?
    func runs(_ page: PageRequest, project: String, status: RunStatus?) async throws -> Page<RunRecord>
    /// Queues again the runs a stop or a crash cut short (they start again from the beginning).
    func requeueInterruptedRuns() async throws
    /// Takes the oldest queued run of the open project whose turn came longest ago (projects with queued runs take
    /// turns, one run each) and marks it running (audited as `run.started`). Queued runs that have started
    /// `maximumAttempts` times already are failed instead (`restartLimitReached`).
    func claimNextRun(maximumAttempts: Int) async throws -> RunRecord?
    /// Fails a run awaiting approval, queued or running with `cancelled` (audited as `run.failed`, the actor the one who cancelled); a
    /// run that has finished is 409 `runFinished`. The caller stops the computation (``RunBoard/cancel(run:)``).
    func cancelRun(_ run: RunRecord, by actor: Acting) async throws -> RunRecord
    /// Puts a run that a planned stop interrupted back in the queue, without counting the attempt.
    func release(_ run: RunRecord) async throws
    /// The SHA-256 of each of the run's two token files, watch list first; nil when one is gone.
    func files(of run: RunRecord) async throws -> (watchlist: String, bulk: String)?
    /// Publishes how the run ended, unless the run is no longer this attempt's (cancelled, its project closed): the
    /// results first, in short transactions that nobody reads (only a succeeded run's rows are), then status and
    /// audit entry in one. Returns whether it published; the rows of a run it did not publish are removed.
    @discardableResult
    func finish(_ run: RunRecord, outcome: RunOutcome) async throws -> Bool

    // MARK: Results

    /// One page of a party's view of a succeeded run under its grant, and the view's size; audited as
    /// `result.read`.
    func resultView(_ query: ResultQuery, by actor: Acting) async throws -> ResultPage
    /// The quality report a succeeded run stored (`RunQualityReport`'s JSON), or nil.
    func runReport(run: String) async throws -> String?
    /// How many distinct rows of `role`'s side a succeeded run's results hold, per status: the counts of that
    /// party's view (service.md, "What each reply discloses"). Not audited: it reads no row.
    func viewCounts(run: String, role: PartyRole) async throws -> [ResultStatus: Int]

    // MARK: The audit log

    /// Audits a refused request (`access.refused`) with the route template, never the path's values.
    func auditRefusal(actor: AuditActor, reason: String, route: String) async throws
    /// Audits requests refused for want of a valid token, one `access.refused` entry per requester and route with
    /// their `count`, in one transaction.
    func auditRefusals(_ counts: [RefusalTally.Count]) async throws
    /// Audits an export (`audit.exported`) and signs the log; returns the checkpoint the export ends with.
    func beginAuditExport(by actor: Acting) async throws -> AuditEntry?
    /// The log's canonical lines from `seq` through `last`, at most `limit` of them.
    func auditLines(from seq: Int, through last: Int, limit: Int) async throws -> [[UInt8]]
    /// Signs the log when entries have gone unsigned for `interval` seconds or 1,000 entries (SPEC §10.4).
    @discardableResult
    func checkpointIfDue(interval: Int) async throws -> Bool
    /// Signs everything logged so far (a clean stop ends with a checkpoint).
    func appendCheckpoint() async throws

    // MARK: The web console

    /// Opens a console session (audited as `token.issued` with `session`), closing idle ones first.
    func openConsoleSession(_ session: NewConsoleSession) async throws
    /// The session whose secret has this SHA-256: open (touched), just ended (idle, or its token no longer valid:
    /// closed and audited as `token.revoked`), or none.
    func consoleSession(hash: [UInt8], idleSeconds: Int, now: Int64) async throws -> ConsoleSessionLookup
    /// Signs a session out (audited as `token.revoked` with `session` and reason `signedOut`).
    func closeConsoleSession(id: String, by actor: Acting, project: String?) async throws
    /// Stores a one-time sign-in ticket for `token` (audited as `token.issued` with `ticket`).
    func issueConsoleTicket(id: String, hash: [UInt8], for token: TokenRecord, expiresAt: String) async throws
    /// Deletes the ticket with this SHA-256 and returns its id and token, if it had not expired and its token is
    /// still valid.
    func redeemConsoleTicket(hash: [UInt8], now: String) async throws -> (ticket: String, token: TokenRecord)?
    /// The newest `limit` entries of `action` about `project` (the console's refused uploads, which only the log
    /// keeps), newest first.
    func auditEntries(action: AuditAction, project: String, limit: Int) async throws -> [AuditEntry]

    // MARK: Operations

    func metrics() async throws -> MetricsSnapshot
    /// The SHA-256 of every token file an upload of an open project references.
    func referencedFiles() async throws -> Set<String>
    /// Whether the store answers.
    func isHealthy() async -> Bool
}

/// A token to issue, as checked from a request.
struct TokenDraft: Sendable {
    var role: Role
    var name: String
    var project: String?
    var party: String?
    var expiresAt: String?
}

/// Which page of which party's view of a run.
struct ResultQuery: Sendable {
    var project: String
    var run: String
    var party: PartyRecord
    var grant: DisclosurePolicy.Grant
    var scoreDecimals: Int
    var limit: Int
    /// The last row of the previous page, as its values in grant order.
    var after: [ResultValue]?
}

/// A value of a result row: a row number or text (a rule name, a rounded score, a status).
enum ResultValue: Sendable, Equatable {
    case integer(Int)
    case text(String)
}

/// One page of a party's view.
struct ResultPage: Sendable {
    /// Rows, each the grant's fields in order.
    var rows: [[ResultValue]]
    /// Rows in the whole view.
    var total: Int
    /// Whether rows follow this page.
    var hasMore: Bool
    /// The receipt of the `result.read` entry that records this page.
    var receipt: Receipt
}

/// What `/metrics` reports, read in one transaction.
struct MetricsSnapshot: Sendable {
    var projects: [ProjectStatus: Int]
    var runs: [RunStatus: Int]
    var comparisons: Int
    var lastRun: String?
    var lastRunPerSecond: Int?
    var uploadsAccepted: Int
    var uploadsRefused: Int
    var uploadBytes: Int
    var uploadLargest: Int
    var uploadLast: Int?
}

extension LinkageStore {
    /// The quality report of a succeeded run (`RunQualityReport`'s JSON): 409 `runNotFinished` before it succeeded, 404
    /// for a run that succeeded before reports were kept. The API's `GET …/report` and the console both read it so.
    func report(of run: RunRecord) async throws -> String {
        guard run.status == .succeeded else {
            throw APIError.conflict(.runNotFinished, "run \(run.id) is \(run.status.rawValue)")
        }
        guard let text = try await runReport(run: run.id) else {
            throw APIError.notFound("run \(run.id) has no report (it ran before reports were kept)")
        }
        return text
    }
}
