import BlindmatchMatching
import BlindmatchProtocol

/// A project to create, as checked from a `ProjectRequest` body.
struct ProjectRequest: Sendable {
    struct Party: Sendable {
        var name: String
        var role: PartyRole
        var key: PublicSigningKey
    }

    var name: String
    var purpose: String
    var legalBasis: String
    var schemaFingerprint: String
    var keyId: String
    var parties: [Party]
    var matching: NamedMatchSettings
    var disclosure: DisclosurePolicy
}
