import BlindmatchContract
import BlindmatchProtocol
import BlindmatchTestSupport
import Foundation
import Testing
import Yams

/// The generated wire types against `Protocol/openapi.yaml`, and the encoder that writes them as the contract asks.
@Suite struct ContractTests {
    typealias Schemas = Components.Schemas

    /// The contract's component schemas, parsed.
    static var schemas: [String: Any] {
        let text = (try? String(contentsOf: RepositoryFile.url("Protocol/openapi.yaml"), encoding: .utf8)) ?? ""
        let document = (try? Yams.load(yaml: text)) as? [String: Any]
        return (document?["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
    }

    /// The Swift type of each schema that has members which are not required.
    static var typesWithOptionalMembers: [String: any OptionalMembers.Type] {
        [
            "Error": Schemas._Error.self, "PartyTokenRequest": Schemas.PartyTokenRequest.self,
            "StaffTokenRequest": Schemas.StaffTokenRequest.self, "PemPublicKeyInput": Schemas.PemPublicKeyInput.self,
            "HexPublicKeyInput": Schemas.HexPublicKeyInput.self, "MatchingSettings": Schemas.MatchingSettings.self,
            "DisclosurePolicy": Schemas.DisclosurePolicy.self, "RunRequest": Schemas.RunRequest.self,
            "ResultRow": Schemas.ResultRow.self, "ProjectRequest": Schemas.ProjectRequest.self,
            "RunPolicy": Schemas.RunPolicy.self, "FittedRunReport": Schemas.FittedRunReport.self,
            "UnfittedRunReport": Schemas.UnfittedRunReport.self,
            "RunPolicy.minimumRecords": Schemas.RunPolicy.MinimumRecordsPayload.self,
        ]
    }

    /// The members not listed as required, of `schema` and of every object nested in its properties, by path.
    static func optionalMembers(_ schema: [String: Any], path: String) -> [String: Set<String>] {
        guard let properties = schema["properties"] as? [String: Any] else { return [:] }
        let required = Set(schema["required"] as? [String] ?? [])
        var found: [String: Set<String>] = [:]
        let optional = Set(properties.keys).subtracting(required)
        if !optional.isEmpty { found[path] = optional }
        for (name, property) in properties {
            guard let property = property as? [String: Any] else { continue }
            found.merge(optionalMembers(property, path: "\(path).\(name)")) { $0.union($1) }
        }
        return found
    }

    @Test func optionalMembersMatchTheContract() throws {
        #expect(Self.schemas.count > 40)
        var fromContract: [String: Set<String>] = [:]
        for (name, schema) in Self.schemas {
            guard let schema = schema as? [String: Any] else { continue }
            fromContract.merge(Self.optionalMembers(schema, path: name)) { $0.union($1) }
        }
        let listed = Self.typesWithOptionalMembers.mapValues { $0.optionalMembers }
        #expect(fromContract == listed)
    }

    @Test func aRequiredNullableMemberIsWrittenAsNull() throws {
        let run = Schemas.Run(
            id: "r-0123456789abcdef", project: "p-0123456789abcdef", status: .queued,
            watchlistUpload: "u-0123456789abcdef", bulkUpload: "u-fedcba9876543210",
            settings: .init(threshold: "0.85", reviewFrom: nil, solver: .manyToOne, vetoKeys: ["nino"], blocking: true),
            attempt: 0, progress: .init(stage: .queued, fraction: 0), summary: nil, failure: nil,
            requestedBy: "party:agency-a", approvals: [], queuedAt: "2026-12-07T00:00:00Z", startedAt: nil,
            finishedAt: nil)
        let value = try ContractEncoder().encode(run)
        for member in ["summary", "failure", "startedAt", "finishedAt"] {
            #expect(value[member] == .null, "\(member)")
        }
        #expect(value["settings"]?["reviewFrom"] == .null)
        #expect(value["progress"]?["fraction"]?.intValue == 0)
        // And it reads back as the same value.
        let decoded = try JSONDecoder().decode(Schemas.Run.self, from: Data(value.canonicalBytes))
        #expect(decoded == run)
    }

    @Test func anOptionalMemberThatIsAbsentIsLeftOut() throws {
        let row = Schemas.ResultRow(row: 7, counterpartRow: nil, rule: "nino", score: nil, status: .match)
        let value = try ContractEncoder().encode(row)
        #expect(value.canonicalText == #"{"row":7,"rule":"nino","status":"match"}"#)
        let error = try ContractEncoder().encode(Schemas._Error(code: .notFound, message: "No such run."))
        #expect(error.canonicalText == #"{"code":"notFound","message":"No such run."}"#)
    }

    @Test func numbersAreWrittenInTheirShortestForm() throws {
        let summary = Schemas.Run.SummaryPayload(
            watchlistRecords: 1000, bulkRecords: 10_000, matches: 3, possible: 0, comparisons: 1 << 40, seconds: 0.125)
        #expect(
            try ContractEncoder().encode(summary).canonicalText
                == #"{"bulkRecords":10000,"comparisons":1099511627776,"matches":3,"possible":0,"#
                + #""seconds":0.125,"watchlistRecords":1000}"#)
        let bad = Schemas.Run.SummaryPayload(
            watchlistRecords: 0, bulkRecords: 0, matches: 0, possible: 0, comparisons: 0, seconds: .nan)
        #expect(throws: EncodingError.self) { try ContractEncoder().encode(bad) }
    }

    @Test func aOneOfRequestDecodesAsTheShapeItHas() throws {
        let party = try JSONDecoder().decode(
            Schemas.TokenRequest.self,
            from: Data(#"{"role":"party","project":"p-0123456789abcdef","party":"agency-a"}"#.utf8))
        guard case .PartyTokenRequest(let request) = party else {
            Issue.record("decoded as \(party)")
            return
        }
        #expect(request.party == "agency-a")
        // A member of the other shape is not allowed (additionalProperties: false on each).
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                Schemas.TokenRequest.self,
                from: Data(#"{"role":"party","name":"x","project":"p-0123456789abcdef","party":"a"}"#.utf8))
        }
    }
}
