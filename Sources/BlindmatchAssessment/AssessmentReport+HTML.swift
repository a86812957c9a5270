extension AssessmentReport {
    /// The report as one self-contained HTML page (no script, no outside resource): counts and shares only.
    public var html: String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Blindmatch assessment: \(Self.escape(schemaName))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
            table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #bbb;padding:0.25em 0.6em;text-align:right}
            th:first-child,td:first-child{text-align:left}.fail{background:#fdd}.pass{background:#dfd}
            .verdict{font-size:1.2em;padding:0.5em;border:2px solid #888}
            </style></head><body>
            <h1>Privacy assessment of schema “\(Self.escape(schemaName))”</h1>
            <p>Schema fingerprint <code>\(Self.escape(schemaFingerprint))</code>; \(records) records tokenised in memory.
            Each attack sees only what the matcher holds (filters, tokens, presence bits, header) and a reference population;
            its guesses are scored against the agency's own records. Gain is the share right with the attack (the
            most common value guessed where it does not guess) minus the share right by always guessing the most common value.</p>
            <p class="verdict \(passes ? "pass" : "fail")">\(Self.escape(verdict))</p>

            """
        if !lint.isEmpty {
            page += "<h2>Schema lint</h2><ul>\n"
            for finding in lint {
                page += "<li><b>\(Self.escape(finding.subject))</b>: \(Self.escape(finding.message))</li>\n"
            }
            page += "</ul>\n"
        }
        for scenario in scenarios {
            page +=
                "<h2>\(Self.escape(scenario.name))</h2>\n<p>\(scenario.encodedRecords) encoded records, \(scenario.referenceRecords) reference records, \(Self.percent(scenario.overlap)) of encoded records in the reference.</p>\n"
            for score in scenario.scores {
                page += "<h3>\(Self.escape(score.attack)) (\(Self.decimal(score.seconds)) s)</h3>\n"
                let measures = score.measures.filter { $0.guessed > 0 }
                if !measures.isEmpty || score.links != nil {
                    page +=
                        "<table><tr><th>measure</th><th>records</th><th>guessed</th><th>right</th><th>wrong</th><th>baseline</th><th>with attack</th><th>groups renamed</th><th>gain (points)</th><th>bound</th></tr>\n"
                    for measure in measures {
                        page +=
                            "<tr class=\"\(measure.passes ? "pass" : "fail")\"><td>\(Self.escape(measure.measure))</td><td>\(measure.records)</td><td>\(measure.guessed)</td><td>\(measure.correct)</td><td>\(measure.wrong)</td><td>\(Self.percent(measure.baseline))</td><td>\(Self.percent(measure.combined))</td><td>\(measure.relabelled.map { Self.percent($0) } ?? "–")</td><td>\(Self.decimal(measure.gainPoints))</td><td>\(Self.decimal(measure.bound))</td></tr>\n"
                    }
                    if let links = score.links {
                        page +=
                            "<tr class=\"\(links.passes ? "pass" : "fail")\"><td>whole records</td><td>\(links.records)</td><td>\(links.linked)</td><td>\(links.correct)</td><td>\(links.wrong)</td><td>\(Self.percent(links.baseline))</td><td>\(Self.percent(links.share))</td><td>–</td><td>\(Self.decimal(links.gainPoints))</td><td>\(Self.decimal(links.bound))</td></tr>\n"
                    }
                    page += "</table>\n"
                }
                if !score.notes.isEmpty {
                    page += "<table><tr><th>count</th><th>value</th></tr>\n"
                    for (key, value) in score.notes.sorted(by: { $0.key < $1.key }) {
                        page += "<tr><td>\(Self.escape(key))</td><td>\(Self.decimal(value))</td></tr>\n"
                    }
                    page += "</table>\n"
                }
            }
        }
        return page + "</body></html>\n"
    }

    static func escape(_ text: String) -> String {
        var output = ""
        for character in text {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            default: output.append(character)
            }
        }
        return output
    }

    static func percent(_ share: Double) -> String { decimal(100 * share) + "%" }

    /// One decimal place (none for whole numbers of a thousand or more).
    static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        if abs(value) >= 1000 && value == value.rounded() { return String(Int(value)) }
        let scaled = (value * 10).rounded() / 10
        return String(scaled)
    }
}
