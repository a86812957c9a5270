import BlindmatchProtocol

extension AssessmentReport {
    /// The report as JSON (canonical form, SPEC §2.1): counts and shares only, never a value or a token.
    public var json: JSONValue {
        .object([
            ("format", .string("blindmatch-assessment")),
            ("schema", .object([("name", .string(schemaName)), ("fingerprint", .string(schemaFingerprint))])),
            ("records", Self.number(records)),
            ("passes", .bool(passes)),
            ("verdict", .string(verdict)),
            ("failures", .array(failures.map { .string($0) })),
            (
                "bounds",
                .object([
                    ("identifyingPoints", Self.number(bounds.identifying)),
                    ("lowEntropyPoints", Self.number(bounds.lowEntropy)),
                    ("recordPoints", Self.number(bounds.records)),
                    (
                        "perMeasure",
                        .object(bounds.perMeasure.sorted { $0.key < $1.key }.map { ($0.key, Self.number($0.value)) })
                    ),
                ])
            ),
            (
                "lint",
                .array(lint.map { .object([("subject", .string($0.subject)), ("message", .string($0.message))]) })
            ),
            ("scenarios", .array(scenarios.map(Self.json))),
        ])
    }

    static func json(_ scenario: Scenario) -> JSONValue {
        .object([
            ("name", .string(scenario.name)),
            ("encodedRecords", number(scenario.encodedRecords)),
            ("referenceRecords", number(scenario.referenceRecords)),
            ("overlap", number(scenario.overlap)),
            ("attacks", .array(scenario.scores.map(json))),
        ])
    }

    static func json(_ score: AttackScore) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("attack", .string(score.attack))]
        // Only schemas with several record-level filters name the filter an attack read.
        if let filter = score.filter { members.append(("filter", .string(filter))) }
        members += [
            ("seconds", number(score.seconds)),
            ("passes", .bool(score.failures.isEmpty)),
            (
                "measures",
                .array(
                    score.measures.filter { $0.guessed > 0 }.map { measure in
                        .object([
                            ("measure", .string(measure.measure)),
                            ("sensitivity", .string(measure.sensitivity.rawValue)),
                            ("records", number(measure.records)),
                            ("guessed", number(measure.guessed)),
                            ("correct", number(measure.correct)),
                            ("wrong", number(measure.wrong)),
                            ("baseline", number(measure.baseline)),
                            ("withAttack", number(measure.combined)),
                            ("relabelled", measure.relabelled.map { number($0) } ?? .null),
                            ("gainPoints", number(measure.gainPoints)),
                            ("boundPoints", number(measure.bound)),
                            ("passes", .bool(measure.passes)),
                        ])
                    })
            ),
            ("notes", .object(score.notes.sorted { $0.key < $1.key }.map { ($0.key, number($0.value)) })),
        ]
        if let links = score.links {
            members.append(
                (
                    "records",
                    .object([
                        ("records", number(links.records)),
                        ("linked", number(links.linked)),
                        ("correct", number(links.correct)),
                        ("wrong", number(links.wrong)),
                        ("baseline", number(links.baseline)),
                        ("share", number(links.share)),
                        ("gainPoints", number(links.gainPoints)),
                        ("boundPoints", number(links.bound)),
                        ("passes", .bool(links.passes)),
                    ])
                ))
        }
        return .object(members)
    }

    static func number(_ value: Int) -> JSONValue { .number(String(value)) }

    /// Six decimal places at most (shares and points need no more).
    static func number(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .null }
        let rounded = (value * 1_000_000).rounded() / 1_000_000
        return rounded == rounded.rounded() && abs(rounded) < 1e15
            ? .number(String(Int(rounded))) : .number(String(rounded))
    }
}
