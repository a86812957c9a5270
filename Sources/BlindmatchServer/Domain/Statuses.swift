import BlindmatchContract

/// A project's status (the contract's `ProjectStatus`).
public typealias ProjectStatus = Components.Schemas.ProjectStatus

/// A run's status (`RunStatus`), in the order metrics list them.
public typealias RunStatus = Components.Schemas.RunStatus

/// The stage a run is in (`RunStage`, `Run.progress.stage`).
public typealias RunStage = Components.Schemas.RunStage

/// Why a run failed (`RunFailureCode`, `Run.failure.code`).
public typealias RunFailureCode = Components.Schemas.RunFailureCode

/// A result pair's status (`ResultStatus`): at or above the threshold, or in the review band.
public typealias ResultStatus = Components.Schemas.ResultStatus

/// The fields of a result row a disclosure grant can name (`ResultField`), in the order they are served.
public typealias ResultField = Components.Schemas.ResultField

extension ResultField {
    /// The column name in CSV results.
    var csvName: String { self == .counterpartRow ? "counterpart_row" : rawValue }
}
