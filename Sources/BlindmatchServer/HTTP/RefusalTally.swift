import BlindmatchAudit
import Synchronization

/// Requests refused for want of a valid token, counted in memory by requester and route until they are written to
/// the audit log as one summary entry each (``LinkageStore/auditRefusals(_:)``): at intervals, before an export, and
/// when the service stops. A flood of bad tokens then costs the store nothing per request.
final class RefusalTally: Sendable {
    struct Count: Sendable, Equatable {
        var actor: AuditActor
        var route: String
        var count: Int
    }

    private struct Key: Hashable {
        var actor: AuditActor
        var route: String
    }

    private let counts = Mutex<[Key: Int]>([:])

    func record(actor: AuditActor, route: String) {
        counts.withLock { $0[Key(actor: actor, route: route), default: 0] += 1 }
    }

    /// Everything counted since the last drain, and resets the counts.
    func drain() -> [Count] {
        counts.withLock { counts in
            defer { counts = [:] }
            return counts.map { Count(actor: $0.key.actor, route: $0.key.route, count: $0.value) }
                .sorted { ($0.route, $0.actor.description) < ($1.route, $1.actor.description) }
        }
    }

    /// Writes what was counted; puts the counts back when the store cannot take them.
    func flush(to store: some LinkageStore) async throws {
        let pending = drain()
        guard !pending.isEmpty else { return }
        do {
            try await store.auditRefusals(pending)
        } catch {
            counts.withLock { counts in
                for item in pending { counts[Key(actor: item.actor, route: item.route), default: 0] += item.count }
            }
            throw error
        }
    }
}
