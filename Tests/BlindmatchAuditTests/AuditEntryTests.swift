import BlindmatchProtocol
import Glibc
import Testing

@testable import BlindmatchAudit

struct AuditEntryTests {
    static let time = AuditTime("2026-01-05T09:00:00Z")

    func make(
        after previous: AuditEntry? = nil, actor: AuditActor = .operator, action: AuditAction = .projectCreated,
        project: String? = "p-1", details: AuditDetails = [:]
    ) throws -> AuditEntry {
        try AuditEntry.make(
            after: previous, actor: actor, action: action, project: project, details: details,
            time: try #require(Self.time))
    }

    @Test func anEntryIsCanonicalJSONWithItsHashOverTheRest() throws {
        let entry = try make(details: ["records": 5, "party": "agency-a"])
        let text = String(decoding: entry.canonicalBytes, as: UTF8.self)
        #expect(
            text
                == #"{"action":"project.created","actor":"operator","details":{"party":"agency-a","records":5},"hash":"\#(entry.hash)","previous":"\#(AuditEntry.firstPrevious)","project":"p-1","seq":0,"time":"2026-01-05T09:00:00Z"}"#
        )
        let withoutHash = text.replacingOccurrences(of: #""hash":"\#(entry.hash)","#, with: "")
        #expect(entry.hash == Hex.encode(SHA256Hasher.hash(Array(withoutHash.utf8))))
        let next = try make(after: entry, action: .tokenIssued)
        #expect(next.seq == 1)
        #expect(next.previous == Hex.encode(SHA256Hasher.hash(entry.canonicalBytes)))
    }

    @Test func parsingGivesBackTheSameEntry() throws {
        let entry = try make(actor: .party("Zoë's council"), project: nil, details: ["reason": "a \"quoted\" \\ rule"])
        #expect(try AuditEntry(parsing: entry.canonicalBytes) == entry)
    }

    @Test(
        arguments: [
            ("a string of 201 characters", ["note": .string(String(repeating: "x", count: 201))]),
            ("a line feed", ["note": "two\nlines"]),
            ("an escape character", ["note": "\u{1B}[2J"]),
            ("a right-to-left override", ["note": "abc\u{202E}fed"]),
            ("a zero-width space", ["note": "a\u{200B}b"]),
            ("an upper-case first letter", ["Note": "x"]),
            ("a dash in a name", ["file-name": "x"]),
            ("a name of 65 characters", [String(repeating: "n", count: 65): "x"]),
            ("an integer beyond 2^53 - 1", ["records": .integer(1 << 53)]),
            ("17 members", AuditDetails((0..<17).map { (name: "m\($0)", value: .integer($0)) })),
            ("a name twice", AuditDetails([(name: "run", value: "r-1"), (name: "run", value: "r-2")])),
        ] as [(String, AuditDetails)])
    func detailsOutsideTheAllowedShapeAreRefused(comment: String, details: AuditDetails) throws {
        #expect(!details.problems.isEmpty, "\(comment)")
        let error = try #require(throws: AuditError.self) { try make(details: details) }
        #expect(error.code == .invalidAuditEntry)
    }

    @Test func detailsAtTheirLimitsAreAccepted() throws {
        let details = AuditDetails(
            (0..<16).map { (name: "m\($0)", value: .string(String(repeating: "é", count: 200))) })
        #expect(details.problems.isEmpty)
        let entry = try make(details: details)
        #expect(try AuditEntry(parsing: entry.canonicalBytes).details == details)
        #expect(try make(details: ["empty": "", "low": .integer(-AuditDetails.maximumInteger)]).details["low"] != nil)
    }

    @Test(arguments: [
        AuditActor.party(""), .party(String(repeating: "p", count: 101)), .auditor("bell\u{7}"),
        .party("a\u{2066}b"),
    ])
    func actorsWithBadNamesAreRefused(actor: AuditActor) throws {
        #expect(!actor.isValid)
        #expect(throws: AuditError.self) { try make(actor: actor) }
    }

    @Test func actorsReadAsWritten() {
        #expect(AuditActor("operator") == .operator)
        #expect(AuditActor("system") == .system)
        #expect(AuditActor("party:agency-a") == .party("agency-a"))
        #expect(AuditActor("party:a:b") == .party("a:b"))
        #expect(AuditActor("auditor:ico") == .auditor("ico"))
        for text in ["", "party:", "Party:x", "root", "party", "operator:x", "auditor:\u{0}"] {
            #expect(AuditActor(text) == nil, "\(text)")
        }
    }

    @Test func projectsAreShortTextOrNull() throws {
        #expect(throws: AuditError.self) { try make(project: "") }
        #expect(throws: AuditError.self) { try make(project: String(repeating: "p", count: 101)) }
        #expect(throws: AuditError.self) { try make(project: "p\r1") }
        #expect(try make(project: nil).project == nil)
    }

    @Test func checkpointsAreMadeOnlyWithAKey() throws {
        let error = try #require(throws: AuditError.self) { try make(action: .checkpoint) }
        #expect(error.code == .invalidAuditEntry)
        let key = try SigningKey(seed: AuditLogVector.signingSeed)
        let first = try make()
        let checkpoint = try AuditEntry.makeCheckpoint(after: first, signingKey: key, time: try #require(Self.time))
        let read = try #require(checkpoint.checkpoint)
        #expect(read.upTo == 0)
        #expect(read.keyFingerprint == key.publicKey.fingerprint)
        let message = AuditEntry.checkpointMessage(covering: try #require(Hex.decode(first.hash)))
        #expect(message.count == 63)
        #expect(key.publicKey.isValidSignature(read.signature, for: message))
        #expect(checkpoint.actor == .system && checkpoint.project == nil)
    }

    @Test(arguments: [
        "", "not json", "[]", #"{"seq":0}"#, "{\"a\":1}\n",
    ])
    func linesThatAreNotEntriesAreRefused(line: String) {
        #expect(throws: AuditError.self) { try AuditEntry(parsing: Array(line.utf8)) }
    }

    @Test func everyActionHasADottedName() {
        for action in AuditAction.allCases {
            #expect(action.rawValue.allSatisfy { $0.isLowercase || $0 == "." }, "\(action)")
            #expect(AuditAction(rawValue: action.rawValue) == action)
        }
    }
}

struct AuditTimeTests {
    @Test(
        arguments: [
            ("1970-01-01T00:00:00Z", 0), ("2000-02-29T12:34:56Z", 951_827_696), ("2026-01-05T09:00:00Z", 1_767_603_600),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
        ] as [(String, Int64)])
    func knownTimes(text: String, seconds: Int64) {
        #expect(AuditTime(secondsSince1970: seconds)?.text == text)
        #expect(AuditTime(text)?.text == text)
        #expect(AuditTime(text)?.secondsSince1970 == seconds)
    }

    @Test(arguments: [
        "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-00-10T00:00:00Z",
        "2025-04-31T00:00:00Z", "2025-01-01T24:00:00Z", "2025-01-01T00:60:00Z", "2025-01-01T00:00:60Z",
        "2025-01-01 00:00:00Z", "2025-01-01T00:00:00", "2025-01-01T00:00:00+00:00", "2025-1-01T00:00:00Z",
    ])
    func impossibleOrMisshapenTimesAreRefused(text: String) {
        #expect(AuditTime(text) == nil)
    }

    @Test func outOfRangeSecondsAreRefused() {
        #expect(AuditTime(secondsSince1970: -1) == nil)
        #expect(AuditTime(secondsSince1970: 253_402_300_800) == nil)
        #expect(AuditTime("2000-02-29T00:00:00Z") != nil)
    }

    /// The civil-date arithmetic against the C library's gmtime_r, on random instants.
    @Test func agreesWithGmtime() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let seconds = Int64.random(in: 0...253_402_300_799, using: &generator)
            var clock = time_t(seconds)
            var parts = tm()
            gmtime_r(&clock, &parts)
            func pad(_ value: Int32, _ width: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: width - text.count) + text
            }
            let expected =
                "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
                + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
            let time = try #require(AuditTime(secondsSince1970: seconds))
            #expect(time.text == expected)
            #expect(AuditTime(time.text) == time)
        }
    }
}
