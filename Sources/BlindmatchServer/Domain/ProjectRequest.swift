import BlindmatchMatching
import BlindmatchProtocol

/// A project to create, as checked from a `ProjectRequest` body.
struct ProjectRequest: Sendable {
    /// The members of a `ProjectRequest` body that may be null.
    static let nullableMembers: Set<String> = ["$.matching.reviewFrom"]

    struct Party: Sendable {
        var name: String
        var role: PartyRole
        var key: PublicSigningKey
    }

    var name: String
    var purpose: String
    var legalBasis: String
    var schemaFingerprint: String
    /// What every upload must have (SPEC §6.7), from the schema: checked against each upload, never against an
    /// earlier upload.
    var layout: UploadLayout
    var keyId: String
    var parties: [Party]
    var matching: NamedMatchSettings
    var disclosure: DisclosurePolicy
    var runPolicy: RunPolicy
}
