import BlindmatchAudit
import BlindmatchProtocol

/// One-time sign-in tickets: shaped as bearer tokens (so the sign-in form takes either), but no API route accepts
/// them, and the first sign-in that presents one deletes it.
enum ConsoleTicket {
    /// A ticket for the valid bearer token `token`, or nil when it is not one.
    static func make(for token: String, lifetime: Duration, in store: some LinkageStore) async throws -> String? {
        let now = AuditTime.now()
        guard let hash = BearerToken.hash(token), let record = try await store.token(hash: hash),
            record.isValid(at: now.text),
            let expires = AuditTime(secondsSince1970: now.secondsSince1970 + lifetime.components.seconds)
        else { return nil }
        let ticket = try BearerToken.make()
        guard let ticketHash = BearerToken.hash(ticket) else { return nil }
        try await store.issueConsoleTicket(
            id: try Identifier.make("c"), hash: ticketHash, for: record, expiresAt: expires.text)
        return ticket
    }
}
