import BlindmatchProtocol

/// Reading one line of a log (SPEC §10.1, §10.2, §10.4 form): every way it breaks the entry's shape, with the rule
/// each breaks. The chain rules (§10.3) and signatures need the line before and a key: ``AuditVerification``.
extension AuditEntry {
    /// Reads one entry: the canonical bytes of one line of a log, without its line feed.
    ///
    /// - Throws: `AuditError.invalidAuditEntry` listing every way the line breaks SPEC §10.1, §10.2 or the form of
    ///   a checkpoint (§10.4). It does not check `hash`, `previous` or a signature.
    public init(parsing line: [UInt8]) throws {
        let reading = Self.reading(line)
        guard let entry = reading.entry else {
            throw AuditError(
                .invalidAuditEntry, reading.problems.map { "\($0.rule.rawValue): \($0.detail)" }.joined(separator: "; ")
            )
        }
        self = entry
    }

    /// What one line holds, as far as it could be read.
    struct Reading {
        /// Each way the line breaks SPEC §10.1, §10.2 or §10.4's form; messages never repeat the line's text.
        var problems: [(rule: AuditVerification.Rule, detail: String)] = []
        var seq: Int?
        var previous: String?
        var hash: String?
        var action: AuditAction?
        /// The content without `hash`, for recomputing it.
        var content: [(key: String, value: JSONValue)]?
        /// The entry, when the line has no problem.
        var entry: AuditEntry?
    }

    static func reading(_ line: [UInt8]) -> Reading {
        var reading = Reading()
        let json: JSONValue
        do {
            json = try JSONValue(parsing: line, source: "entry")
        } catch let error as ProtocolError {
            reading.problems.append((.line, "is not JSON (\(parserMessage(error.reason)))"))
            return reading
        } catch {
            reading.problems.append((.line, "is not JSON"))
            return reading
        }
        if json.canonicalBytes != line {
            reading.problems.append(
                (
                    .canonicalForm,
                    line.last == 0x0D
                        ? "ends with CR LF: lines end with LF alone"
                        : "is not written in canonical form (SPEC §2.1): the line was rewritten"
                ))
        }
        guard let members = json.objectValue else {
            reading.problems.append((.members, "is not a JSON object"))
            return reading
        }
        var problems: [String] = []
        let names = Set(members.map(\.key))
        let missing = memberNames.filter { !names.contains($0) }
        if !missing.isEmpty { problems.append("lacks \(missing.joined(separator: ", "))") }
        let unknown = names.subtracting(memberNames).count
        if unknown > 0 { problems.append("has \(unknown) member(s) SPEC §10.2 does not define") }

        if case .number(let text) = json["seq"], text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let seq = Int(text), seq <= maximumSeq
        {
            reading.seq = seq
        } else if json["seq"] != nil {
            problems.append("seq is not an integer from 0 to 2⁵³ − 1")
        }
        let time = json["time"]?.stringValue.flatMap(AuditTime.init)
        if time == nil && json["time"] != nil { problems.append("time is not a UTC time YYYY-MM-DDThh:mm:ssZ") }
        let actor = json["actor"]?.stringValue.flatMap(AuditActor.init)
        if actor == nil && json["actor"] != nil { problems.append(actorProblem) }
        var project: String?? = nil
        switch json["project"] {
        case .null?: project = .some(nil)
        case .string(let id)? where isValidProject(id): project = .some(id)
        case nil: break
        default: problems.append(projectProblem)
        }
        reading.previous = json["previous"]?.stringValue.flatMap { isDigest($0) ? $0 : nil }
        if reading.previous == nil && json["previous"] != nil {
            problems.append("previous is not 64 lower-case hex digits")
        }
        reading.hash = json["hash"]?.stringValue.flatMap { isDigest($0) ? $0 : nil }
        if reading.hash == nil && json["hash"] != nil { problems.append("hash is not 64 lower-case hex digits") }
        if !problems.isEmpty { reading.problems.append((.members, problems.joined(separator: "; "))) }

        reading.action = json["action"]?.stringValue.flatMap(AuditAction.init(rawValue:))
        if reading.action == nil && json["action"] != nil {
            reading.problems.append((.action, "action is not one of the actions of SPEC §10.2"))
        }
        var details: AuditDetails?
        if let member = json["details"] {
            let read = AuditDetails.reading(member)
            details = read.details
            if !read.problems.isEmpty { reading.problems.append((.details, read.problems.joined(separator: "; "))) }
        }
        if reading.action == .checkpoint {
            let form = checkpointFormProblems(json, actor: actor, project: project, seq: reading.seq)
            if !form.isEmpty { reading.problems.append((.checkpointForm, form.joined(separator: "; "))) }
        }
        reading.content = members.filter { $0.key != "hash" }

        if reading.problems.isEmpty, let seq = reading.seq, let time, let actor, let action = reading.action,
            let project, let details, let previous = reading.previous, let hash = reading.hash
        {
            reading.entry = AuditEntry(
                seq: seq, time: time, actor: actor, action: action, project: project, details: details,
                previous: previous, hash: hash, canonicalBytes: line)
        }
        return reading
    }

    /// SPEC §10.4: a checkpoint is by `system`, for no project, and its details are exactly `upTo` (seq − 1), `key`
    /// (a fingerprint) and `signature` (canonical base64 of 64 bytes).
    private static func checkpointFormProblems(
        _ json: JSONValue, actor: AuditActor?, project: String??, seq: Int?
    ) -> [String] {
        var problems: [String] = []
        if let actor, actor != .system { problems.append("a checkpoint's actor is system") }
        if case .some(.some) = project { problems.append("a checkpoint's project is null") }
        guard let details = json["details"]?.objectValue else { return problems }
        let names = Set(details.map(\.key))
        if names != ["upTo", "key", "signature"] {
            problems.append("a checkpoint's details are exactly upTo, key and signature")
        }
        if let seq {
            if seq == 0 {
                problems.append("a checkpoint cannot be the first entry: it covers the entry before it")
            } else if json["details"]?["upTo"]?.intValue != seq - 1 {
                problems.append("upTo is not \(seq - 1), the seq of the entry just before the checkpoint")
            }
        }
        if let key = json["details"]?["key"], !(key.stringValue.map(isDigest) ?? false) {
            problems.append("key is not a key fingerprint (64 lower-case hex digits)")
        }
        if let signature = json["details"]?["signature"] {
            let text = signature.stringValue ?? ""
            let bytes = Base64.decode(text)
            if bytes?.count != 64 || bytes.map(Base64.encode) != text {
                problems.append("signature is not the base64 of 64 bytes")
            }
        }
        return problems
    }

    /// 64 lower-case hex digits.
    static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The JSON parser's message without its source name, e.g. `column 87: unexpected end of input`; a duplicated
    /// member's name is not repeated.
    private static func parserMessage(_ reason: String) -> String {
        let parts = reason.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4 else { return "not valid UTF-8" }
        let message = parts[3].trimmingPrefix(" ")
        return "column \(parts[2]): " + (message.hasPrefix("duplicate member") ? "duplicate member" : String(message))
    }
}
