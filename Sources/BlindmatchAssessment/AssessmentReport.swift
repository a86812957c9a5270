/// What `assess` found: per reference population, each attack's scores; the schema lint; the verdict.
public struct AssessmentReport: Sendable {
    /// One reference population and the attacks' scores against it.
    public struct Scenario: Sendable {
        public let name: String
        public let encodedRecords: Int
        public let referenceRecords: Int
        /// Share of encoded records whose person is in the reference.
        public let overlap: Double
        public let scores: [AttackScore]
    }

    public let schemaName: String
    public let schemaFingerprint: String
    public let records: Int
    public let bounds: AssessmentBounds
    public let scenarios: [Scenario]
    public let lint: [LintFinding]

    /// Every gain above its bound, named by reference population, attack and measure.
    public var failures: [String] {
        scenarios.flatMap { scenario in scenario.scores.flatMap { $0.failures.map { "\(scenario.name): \($0)" } } }
    }

    /// True when no attack gains more than its bound against any reference population.
    public var passes: Bool { failures.isEmpty }

    /// The verdict in one line.
    public var verdict: String {
        let failures = self.failures
        if failures.isEmpty {
            return "assessment of \(schemaName): PASS (no attack gains more than its bound above baseline)"
        }
        let first = failures.prefix(3).joined(separator: "; ")
        let more = failures.count > 3 ? "; and \(failures.count - 3) more" : ""
        return "assessment of \(schemaName): FAIL (\(first)\(more))"
    }
}
