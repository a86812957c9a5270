import BlindmatchAgency
import BlindmatchAssessment
import BlindmatchProtocol

/// Named once for the executable, so the demo needs no import of its own.
typealias Assessment = BlindmatchAssessment.Assessment

extension Assessment {
    /// `blindmatch assess`'s one-line verdict on `input` against the default references (docs/privacy.md).
    static func verdict(schema: LinkageSchema, secret: LinkageSecret, input: String) throws -> String {
        let records = try AgencyInput.tokenise(
            schema: schema, secret: secret, input: input, threads: Machine.cores, progress: SilentProgress())
        return Assessment().run(schema: schema, input: records, reference: .halvesAndWhole, progress: SilentProgress())
            .verdict
    }
}
