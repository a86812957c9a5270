/// A project's status (`ProjectStatus`).
public enum ProjectStatus: String, Sendable, Codable, CaseIterable {
    case open, closed
}

/// A run's status (`RunStatus`), in the order metrics list them.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed
}

/// The stage a run is in (`Run.progress.stage`).
public enum RunStage: String, Sendable, Codable, CaseIterable {
    case queued, exact, fuzzy, writing, done
}

/// A result pair's status: at or above the threshold, or in the review band.
public enum ResultStatus: String, Sendable, Codable, CaseIterable {
    case match, possible
}

/// The fields of a result row a disclosure grant can name, in the order they are served.
public enum ResultField: String, Sendable, Codable, CaseIterable {
    case row, counterpartRow, rule, score, status

    /// The column name in CSV results.
    var csvName: String { self == .counterpartRow ? "counterpart_row" : rawValue }
}
