import BlindmatchContract
import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// Runs: the listing, a run's page with live progress, and its quality report.
extension ConsoleController {
    private var runs: RunsController<Store> { RunsController(store: store, board: board) }

    /// `GET /console/projects/{projectId}/runs`: each run as `GET …/runs` replies it to this viewer.
    @Sendable func runList(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let project = try await store.project(in: context)
        let listing = try await store.runs(try ConsoleFormat.page(request), project: project.id, status: nil)
        var items: [[String: Any]] = []
        for run in listing.items {
            let wire = run.wire(
                progress: await board.progress(of: run),
                for: try await runs.viewer(of: run, token: viewer.token, project: project))
            items.append([
                "id": wire.id, "project": project.id, "status": wire.status.rawValue,
                "stage": wire.progress.stage.rawValue, "percent": Int((wire.progress.fraction * 100).rounded()),
                "requestedBy": wire.requestedBy, "queuedAt": wire.queuedAt, "finishedAt": wire.finishedAt ?? "—",
                "matches": ConsoleFormat.count(wire.summary?.matches, withheld: wire.summary != nil),
                "possible": ConsoleFormat.count(wire.summary?.possible, withheld: wire.summary != nil),
            ])
        }
        var values: [String: Any] = ["id": project.id, "name": project.name, "items": items]
        if let next = listing.nextBefore { values["next"] = next }
        return page("runs", title: "Runs of \(project.name)", values, viewer: viewer, current: "/console/projects")
    }

    /// `GET /console/projects/{projectId}/runs/{runId}`: `GET …/runs/{runId}` as this viewer reads it.
    @Sendable func runPage(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let project = try await store.project(in: context)
        let run = try await store.run(in: context, of: project)
        let wire = run.wire(
            progress: await board.progress(of: run),
            for: try await runs.viewer(of: run, token: viewer.token, project: project))
        let finished = wire.summary != nil
        var summary: [(String, String)] = [
            ("Watch-list records", ConsoleFormat.count(wire.summary?.watchlistRecords, withheld: finished)),
            ("Bulk records", ConsoleFormat.count(wire.summary?.bulkRecords, withheld: finished)),
            ("Matches", ConsoleFormat.count(wire.summary?.matches, withheld: finished)),
            ("Possible matches (for review)", ConsoleFormat.count(wire.summary?.possible, withheld: finished)),
            ("Filter comparisons", ConsoleFormat.count(wire.summary?.comparisons, withheld: finished)),
            ("Seconds", wire.summary?.seconds.map { String(format: "%.3f", $0) } ?? (finished ? "withheld" : "—")),
        ]
        var values: [String: Any] = [
            "id": run.id, "project": project.id, "projectName": project.name, "status": wire.status.rawValue,
            "stage": wire.progress.stage.rawValue, "percent": Int((wire.progress.fraction * 100).rounded()),
            "live": wire.status == .queued || wire.status == .running, "isParty": viewer.token.role == .party,
            "summary": summary.map { ["name": $0.0, "value": $0.1] }, "requestedBy": wire.requestedBy,
            "queuedAt": wire.queuedAt, "startedAt": wire.startedAt ?? "—", "finishedAt": wire.finishedAt ?? "—",
            "attempt": wire.attempt, "watchlistUpload": wire.watchlistUpload, "bulkUpload": wire.bulkUpload,
        ]
        if let failure = wire.failure {
            values["failure"] = ["code": failure.code.rawValue, "message": failure.message]
        }
        if wire.status == .succeeded && allows("GET /projects/{projectId}/runs/{runId}/report", viewer) {
            values["reportHref"] = "/console/projects/\(project.id)/runs/\(run.id)/report"
            values["reportLabel"] = "Score histogram and estimated precision and recall"
        }
        // The threshold as the run's settings state it, and, for those who may read the report, what decided.
        let automatic = wire.settings.threshold == NamedMatchSettings.automatic
        summary.insert(
            ("Threshold", automatic ? "auto (the decision model chooses)" : "Dice \(wire.settings.threshold)"), at: 0)
        if values["reportHref"] != nil, let text = try? await store.report(of: run),
            let quality = try? JSONDecoder().decode(RunQualityReport.self, from: Data(text.utf8))
        {
            switch quality {
            case .fitted(let report):
                summary.insert(("Decided by", Self.decision(report)), at: 1)
                let estimate = report.estimate
                summary.insert(
                    (
                        "Estimated precision / recall / F1",
                        "\(ConsoleFormat.decimal(estimate.precision, 3)) / \(ConsoleFormat.decimal(estimate.recall, 3)) / \(ConsoleFormat.decimal(estimate.f1, 3))"
                    ), at: 2)
            case .unfitted(let report):
                values["reportLabel"] = "The run's report (no decision model: nothing to chart)"
                summary.insert(("Decided by", Self.decision(report)), at: 1)
                summary.insert(("Estimated precision / recall / F1", Self.noEstimates), at: 2)
            }
        }
        values["summary"] = summary.map { ["name": $0.0, "value": $0.1] }
        return page("run", title: "Run \(run.id)", values, viewer: viewer, current: "/console/projects")
    }

    /// `GET /console/projects/{projectId}/runs/{runId}/progress`: the run as JSON, exactly `GET …/runs/{runId}`'s
    /// reply to this viewer, for the page's script.
    @Sendable func runProgress(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let project = try await store.project(in: context)
        let run = try await store.run(in: context, of: project)
        return try JSONResponse.make(
            run.wire(
                progress: await board.progress(of: run),
                for: try await runs.viewer(of: run, token: viewer.token, project: project)))
    }

    /// `GET /console/projects/{projectId}/runs/{runId}/report`: `GET …/report` drawn (SVG on the server) with its
    /// data in tables beside each chart.
    @Sendable func reportPage(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let project = try await store.project(in: context)
        let run = try await store.run(in: context, of: project)
        let text = try await store.report(of: run)
        let report: LinkageReport
        switch try JSONDecoder().decode(RunQualityReport.self, from: Data(text.utf8)) {
        case .fitted(let fitted):
            report = fitted
        case .unfitted(let unfitted):
            // No model, so no charts: what decided, and why there are no estimates.
            let facts = [("Decided by", Self.decision(unfitted)), ("Estimates", Self.noEstimates)]
            let values: [String: Any] = [
                "project": project.id, "projectName": project.name, "run": run.id, "model": unfitted.model,
                "estimate": facts.map { ["name": $0.0, "value": $0.1] }, "fitted": false,
            ]
            return page(
                "report", title: "Report of run \(run.id)", values, viewer: viewer, current: "/console/projects")
        }
        let estimate = report.estimate
        let facts: [(String, String)] = [
            ("Threshold (match weight)", ConsoleFormat.decimal(report.threshold, 2)),
            ("Decided by", Self.decision(report)),
            ("Dice threshold", report.diceThreshold.map { ConsoleFormat.decimal($0, 3) } ?? "—"),
            ("Candidate pairs", ConsoleFormat.count(report.candidatePairs)),
            (
                "Estimated precision",
                "\(ConsoleFormat.decimal(estimate.precision, 3)) ± \(ConsoleFormat.decimal(estimate.precisionError, 3))"
            ),
            (
                "Estimated recall",
                "\(ConsoleFormat.decimal(estimate.recall, 3)) ± \(ConsoleFormat.decimal(estimate.recallError, 3))"
            ),
            ("Estimated F1", ConsoleFormat.decimal(estimate.f1, 3)),
            ("Reported matches", ConsoleFormat.count(estimate.reported)),
            ("Expected false matches among them", ConsoleFormat.decimal(estimate.falseMatches, 1)),
            ("Expected true pairs", ConsoleFormat.decimal(estimate.expectedTruePairs, 1)),
        ]
        let histogram = report.histogram
        let bins: [[String: Any]] = histogram.matches.indices.map { index in
            [
                "from": ConsoleFormat.decimal(histogram.edges[index], 1),
                "to": ConsoleFormat.decimal(histogram.edges[index + 1], 1),
                "matches": ConsoleFormat.decimal(histogram.matches[index], 1),
                "nonMatches": ConsoleFormat.decimal(histogram.nonMatches[index], 1),
            ]
        }
        let values: [String: Any] = [
            "project": project.id, "projectName": project.name, "run": run.id, "model": report.model, "fitted": true,
            "threshold": ConsoleFormat.decimal(report.threshold, 2),
            "estimate": facts.map { ["name": $0.0, "value": $0.1] },
            "histogramSVG": ConsoleCharts.histogram(histogram, threshold: report.threshold),
            "curveSVG": ConsoleCharts.curve(report.curve, threshold: report.threshold), "bins": bins,
            "curve": report.curve.map {
                [
                    "threshold": ConsoleFormat.decimal($0.threshold, 1),
                    "precision": ConsoleFormat.decimal($0.precision, 3),
                    "recall": ConsoleFormat.decimal($0.recall, 3), "f1": ConsoleFormat.decimal($0.f1, 3),
                ]
            },
        ]
        return page("report", title: "Report of run \(run.id)", values, viewer: viewer, current: "/console/projects")
    }

    /// What decided a run's matches, in words: the model's own threshold, the fixed rule given, or the fixed rule
    /// the model fell back to (and why).
    static func decision(_ report: LinkageReport) -> String {
        if report.thresholdChosen {
            return "the decision model: match weight \(ConsoleFormat.decimal(report.threshold, 2)) chosen"
        }
        let dice = report.diceThreshold.map { ConsoleFormat.decimal($0, 3) } ?? "—"
        if let fallback = report.thresholdFallback {
            return "the fixed rule at its default Dice \(dice): the decision model could not choose (\(fallback))"
        }
        return "the fixed rule at the given Dice \(dice)"
    }

    /// What decided a run whose files carry no Bloom filters: the match keys and the fixed rule, and why no model.
    static func decision(_ report: UnfittedReport) -> String {
        let dice = ConsoleFormat.decimal(report.diceThreshold, 3)
        if let fallback = report.thresholdFallback {
            return "the fixed rule at its default Dice \(dice): the decision model could not choose (\(fallback))"
        }
        return "the fixed rule at the given Dice \(dice)"
    }

    /// The estimates of a run without a model, in words.
    static var noEstimates: String { "none: the files carry no Bloom filters, so no decision model was fitted" }
}
