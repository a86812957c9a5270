import BlindmatchContract
import BlindmatchProtocol
import BlindmatchTestSupport
import Testing

@testable import BlindmatchServer

/// Seeded mutations of a project request body (the largest JSON a client sends) through the JSON parser and the
/// request's checks: they return or throw an `APIError` with a contract code, never trap.
struct RequestFuzzTests {
    static func seed() throws -> [UInt8] {
        let pem = String(decoding: try RepositoryFile.bytes("Keys/test/test-agency-a.pub"), as: UTF8.self)
        let other = String(decoding: try RepositoryFile.bytes("Keys/test/test-agency-b.pub"), as: UTF8.self)
        let request: JSONValue = .object([
            ("name", .string("fuzz")), ("purpose", .string("Fuzz the request checks.")),
            ("legalBasis", .string("None; test data.")),
            ("schemaFingerprint", .string(String(repeating: "a", count: 64))),
            (
                "layout",
                .object([
                    ("filterBits", .integer(1024)), ("matchKeys", .array([.string("nino"), .string("name-dob")])),
                    ("blockingKeys", .array([.string("block-names")])),
                ])
            ),
            ("keyId", .string(String(repeating: "b", count: 32))),
            (
                "parties",
                .array([
                    .object([
                        ("name", .string("agency-a")), ("role", .string("watchlist")),
                        ("publicKey", .object([("pem", .string(pem))])),
                    ]),
                    .object([
                        ("name", .string("council-b")), ("role", .string("bulk")),
                        ("publicKey", .object([("pem", .string(other))])),
                    ]),
                ])
            ),
            (
                "matching",
                .object([
                    ("threshold", .string("0.85")), ("reviewFrom", .string("0.75")), ("solver", .string("many-to-one")),
                    ("vetoKeys", .array([.string("nino")])), ("blocking", .bool(true)),
                ])
            ),
            (
                "disclosure",
                .object([
                    ("scoreDecimals", .integer(2)),
                    (
                        "grants",
                        .array([
                            .object([
                                ("role", .string("watchlist")),
                                ("fields", .array([.string("row"), .string("score")])),
                                ("statuses", .array([.string("match"), .string("possible")])),
                            ])
                        ])
                    ),
                ])
            ),
        ])
        return request.canonicalBytes
    }

    @Test func projectRequestChecksNeverTrap() throws {
        let seed = try Self.seed()
        func read(_ bytes: [UInt8]) throws -> ProjectRequest {
            try ProjectRequest(
                try ContractBody.decode(
                    Components.Schemas.ProjectRequest.self, from: bytes, nullable: ProjectRequest.nullableMembers))
        }
        #expect((try? read(seed)) != nil)
        var mutator = Mutator(seed: 8)
        var accepted = 0
        var refused = 0
        for _ in 0..<2000 {
            do {
                _ = try read(mutator.mutate(seed))
                accepted += 1
            } catch let error as APIError {
                #expect(error.kind == .badRequest || error.kind == .unprocessableContent, "\(error)")
                refused += 1
            }
        }
        #expect(accepted > 0 && refused > 0)
    }
}
