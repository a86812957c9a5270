import ArgumentParser
import BlindmatchMatching
import Glibc

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Request a matching run and follow it; approve, cancel, show or list a project's runs.",
        discussion:
            "`blindmatch run --project P` is `blindmatch run start --project P`. A run matches the watch-list party's upload against the bulk party's with the project's settings; runs survive a restart of the service (Protocol/service.md, \"Runs\"). Who may request a run and who must approve it is the project's run policy (by default the watch-list party requests and the bulk party approves: Protocol/service.md, \"Consent to run\"); auditors and the operator can read runs, and the operator can cancel them.",
        subcommands: [
            RunStartCommand.self, RunApproveCommand.self, RunShowCommand.self, RunListCommand.self,
            RunReportCommand.self, RunCancelCommand.self,
        ],
        defaultSubcommand: RunStartCommand.self)
}

struct RunStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Request a matching run and wait until it has succeeded or failed.",
        discussion:
            "A party the project's run policy names as a requester. Your side uses your current upload unless you name another of yours; the other side's is always its current one. Prints the run's id on the first line as soon as it is requested, then (unless --no-wait) waits for its approval, follows its progress on a terminal and prints its summary: matches, possible matches, comparisons and seconds (those your grant includes). Exits 1 if the run failed, printing the failure's code and message. Interrupting the command does not stop the run: follow it with `run show`. Keeps the service's receipt in --receipts."
    )

    @OptionGroup var connection: ServiceConnection
    @OptionGroup var receipts: ReceiptOptions

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Option(
        name: .customLong("watchlist-upload"),
        help: ArgumentHelp(
            "Your upload, if you are the watch-list party (default: your current one).", valueName: "upload-id"))
    var watchlistUpload: String?

    @Option(
        name: .customLong("bulk-upload"),
        help: ArgumentHelp(
            "Your upload, if you are the bulk party (default: your current one).", valueName: "upload-id"))
    var bulkUpload: String?

    @Flag(name: .customLong("no-wait"), help: "Print the run's id and return once it is queued.")
    var noWait = false

    /// How often the run is polled.
    static let pollInterval = Duration.milliseconds(250)

    func run() async throws {
        try await reportingErrors {
            let request = ServiceAPI.RunRequest(watchlistUpload: watchlistUpload, bulkUpload: bulkUpload)
            let finished = try await Self.start(
                request, project: project, waiting: !noWait, connection: connection, receipts: receipts
            ) { run in
                Console.output("\(run.id.printable)\n")
            }
            guard finished.status.isFinished else {
                Console.output(
                    "\(finished.status.rawValue); follow it with `blindmatch run show --project \(project) \(finished.id)`\n"
                        .printable)
                return
            }
            Console.output(RunSummary.text(of: finished))
            if finished.status == .failed {
                Console.error("blindmatch: error: \(RunSummary.failure(of: finished))\n")
                throw ExitCode(1)
            }
        }
    }

    /// Requests a run, keeps its receipt, passes it to `queued`, then unless `waiting` is false polls it until it
    /// has succeeded or failed, showing its progress on a terminal; returns the run as last seen.
    static func start(
        _ request: ServiceAPI.RunRequest, project: String, waiting: Bool = true, connection: ServiceConnection,
        receipts: ReceiptOptions, queued: (ServiceAPI.Run) -> Void
    ) async throws -> ServiceAPI.Run {
        try await connection.withClient { client in
            let run: ServiceAPI.Run = try await receipts.send(
                Endpoint(.POST, "projects", project, "runs"), sending: request, action: "run.queued", project: project,
                client: client)
            queued(run)
            if !waiting { return run }
            return try await follow(run, project: project, client: client)
        }
    }

    /// Polls `run` until it has succeeded or failed, showing its progress on a terminal.
    static func follow(_ run: ServiceAPI.Run, project: String, client: ServiceClient) async throws -> ServiceAPI.Run {
        var run = run
        let status = Progress(label: "run \(run.id.printable)", totalBytes: nil)
        defer { status.finish() }
        while !run.status.isFinished {
            let stage =
                switch run.status {
                case .awaitingApproval: "awaiting approval"
                case .queued: "queued"
                default: "\(run.progress.stage.rawValue) \(Format.percent(run.progress.fraction))"
                }
            status.show(stage.printable + (run.attempt > 1 ? ", attempt \(run.attempt)" : ""))
            try await Task.sleep(for: pollInterval)
            run = try await client.json(Endpoint(.GET, "projects", project, "runs", run.id))
        }
        return run
    }
}

struct RunApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a run awaiting your party's approval.",
        discussion:
            "A party the project's run policy names as an approver (by default the bulk party). Check the run first with `run show`: it names the two uploads it will match, yours among them. Once every approver has approved, the run is queued. Decline with `run cancel`. Keeps the service's receipt in --receipts."
    )

    @OptionGroup var connection: ServiceConnection
    @OptionGroup var receipts: ReceiptOptions

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Argument(help: ArgumentHelp("The run's id.", valueName: "run-id"))
    var id: String

    func run() async throws {
        try await reportingErrors {
            let run = try await Self.approve(id, project: project, connection: connection, receipts: receipts)
            Console.output("\(run.id.printable)\n\(RunSummary.text(of: run))")
        }
    }

    static func approve(_ id: String, project: String, connection: ServiceConnection, receipts: ReceiptOptions)
        async throws -> ServiceAPI.Run
    {
        try await connection.withClient { client in
            try await receipts.send(
                Endpoint(.POST, "projects", project, "runs", id, "approve"), action: "run.approved", project: project,
                client: client)
        }
    }
}

struct RunShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a run: status, progress, uploads, settings, counts or failure.")

    @OptionGroup var connection: ServiceConnection

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Argument(help: ArgumentHelp("The run's id.", valueName: "run-id"))
    var id: String

    func run() async throws {
        try await reportingErrors {
            let run: ServiceAPI.Run = try await connection.withClient { client in
                try await client.json(Endpoint(.GET, "projects", project, "runs", id))
            }
            Console.output("\(run.id.printable)\n\(RunSummary.text(of: run))")
        }
    }
}

struct RunCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a run: it fails with `cancelled` and is not started again.",
        discussion:
            "The operator, the party that requested the run, or a party whose approval it awaits (declining it).")

    @OptionGroup var connection: ServiceConnection

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Argument(help: ArgumentHelp("The run's id.", valueName: "run-id"))
    var id: String

    func run() async throws {
        try await reportingErrors {
            let run: ServiceAPI.Run = try await connection.withClient { client in
                try await client.json(Endpoint(.POST, "projects", project, "runs", id, "cancel"))
            }
            Console.output("\(run.id.printable)\n\(RunSummary.text(of: run))")
        }
    }
}

struct RunReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "A succeeded run's quality, estimated without ground truth (operator or auditor).",
        discussion:
            "Prints the decision model's estimated precision, recall and F1 with their standard errors and the expected false matches; --output writes the whole report as JSON and --html as a page with its charts (docs/decision-model.md). Aggregates only: no row or pair."
    )

    @OptionGroup var connection: ServiceConnection

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Argument(help: ArgumentHelp("The run's id.", valueName: "run-id"))
    var id: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the report as JSON.", valueName: "report.json"))
    var output: String?

    @Option(help: ArgumentHelp("Write the report as a page with inline SVG charts.", valueName: "report.html"))
    var html: String?

    func run() async throws {
        try await reportingErrors {
            let quality: RunQualityReport = try await connection.withClient { client in
                try await client.json(Endpoint(.GET, "projects", project, "runs", id, "report"))
            }
            switch quality {
            case .fitted(let report):
                if let output { try LinkageReportOutput.writeJSON(report, to: output) }
                if let html { try LinkageReportOutput.writeHTML(report, to: html) }
                Console.output(
                    "run \(id.printable): \(LinkageReportOutput.decision(report).printable); "
                        + LinkageReportOutput.summary(report, seconds: 0).printable + "\n")
            case .unfitted(let report):
                if let output { try LinkageReportOutput.writeJSON(report, to: output) }
                if let html { try LinkageReportOutput.writeHTML(report, to: html) }
                Console.output(
                    "run \(id.printable): \(LinkageReportOutput.decision(report).printable); no estimates\n")
            }
        }
    }
}

struct RunListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List a project's runs, newest first.")

    @OptionGroup var connection: ServiceConnection

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Option(
        help: ArgumentHelp(
            "Only runs with this status: awaitingApproval, queued, running, succeeded or failed.", valueName: "status"))
    var status: String?

    func validate() throws {
        if let status, ServiceAPI.RunStatus(rawValue: status) == nil {
            throw ValidationError("--status must be awaitingApproval, queued, running, succeeded or failed")
        }
    }

    /// A count of a run's summary, or `-` where the caller's grant withholds it.
    static func count(_ value: Int?) -> String { value.map(Format.count) ?? "-" }

    func run() async throws {
        try await reportingErrors {
            var endpoint = Endpoint(.GET, "projects", project, "runs")
            if let status { endpoint.query.append(("status", status)) }
            let runs = try await connection.withClient { client in
                try await client.all(endpoint, pages: ServiceAPI.RunPage.self)
            }
            let rows = runs.map { run in
                [
                    run.id, run.status.rawValue, run.queuedAt, run.finishedAt ?? "-",
                    Self.count(run.summary?.matches), Self.count(run.summary?.possible),
                    run.failure?.code.rawValue ?? "-",
                    run.requestedBy,
                ]
            }
            Console.output(
                Table.render(
                    header: ["ID", "STATUS", "QUEUED", "FINISHED", "MATCHES", "POSSIBLE", "FAILURE", "REQUESTED BY"],
                    rows: rows))
        }
    }
}

/// A run as `run start` and `run show` print it, one fact per line.
enum RunSummary {
    static func text(of run: ServiceAPI.Run) -> String {
        var lines = [
            "status: \(run.status.rawValue)"
                + (run.status == .running || run.status == .queued
                    ? " (\(run.progress.stage.rawValue), \(Format.percent(run.progress.fraction)))" : "")
                + (run.attempt > 1 ? ", attempt \(run.attempt)" : ""),
            "uploads: watchlist \(run.watchlistUpload), bulk \(run.bulkUpload)",
            "settings: \(ProjectSummary.settings(run.settings))",
            "requested by \(run.requestedBy) at \(run.queuedAt)"
                + (run.startedAt.map { ", started \($0)" } ?? "") + (run.finishedAt.map { ", finished \($0)" } ?? ""),
            "approvals: " + approvals(of: run),
        ]
        if let summary = run.summary {
            let count = RunListCommand.count
            let seconds = summary.seconds.map { Format.decimal($0, places: 2) } ?? "-"
            let withheld = [
                summary.watchlistRecords, summary.bulkRecords, summary.matches, summary.possible, summary.comparisons,
            ].contains(nil)
            lines.append(
                "\(count(summary.watchlistRecords)) × \(count(summary.bulkRecords)) records: "
                    + "\(count(summary.matches)) matches, \(count(summary.possible)) possible, "
                    + "\(count(summary.comparisons)) comparisons in \(seconds) s"
                    + (withheld || summary.seconds == nil ? " (- : not in this token's grant)" : ""))
        }
        if let failure = run.failure { lines.append("failure: \(failure.code.rawValue): \(failure.message)") }
        return lines.map { $0.printable + "\n" }.joined()
    }

    /// `agency-b (bulk) at …, …`, or `none`.
    static func approvals(of run: ServiceAPI.Run) -> String {
        let given: [String] = run.approvals.map { approval in
            "\(approval.party) (\(approval.role.rawValue)) at \(approval.approvedAt)"
        }
        return given.isEmpty ? "none" : given.joined(separator: ", ")
    }

    /// A failed run in one line: `run r-… failed (code): message`.
    static func failure(of run: ServiceAPI.Run) -> String {
        let code = run.failure?.code.rawValue ?? "unknown"
        let message = run.failure?.message ?? "the server gave no reason"
        return "run \(run.id) failed (\(code)): \(message)".printable
    }
}
