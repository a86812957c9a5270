/// Who did what an audit entry records (SPEC §10.2): `operator`, `system`, `unauthenticated`, `party:<name>` or
/// `auditor:<name>`.
///
/// A name is 1–100 Unicode scalar values under the text rule of SPEC §10.2 (no control, invisible or
/// direction-changing character); it is the name the matcher registered, never a person's personal data.
public enum AuditActor: Sendable, Hashable, CustomStringConvertible {
    /// The matcher's operator.
    case `operator`
    /// The matcher itself: scheduled work and checkpoints.
    case system
    /// Whoever sent requests without a valid bearer token (counted refusals), never the matcher's own work.
    case unauthenticated
    /// A registered party (an agency), by its registered name.
    case party(String)
    /// A registered auditor, by name.
    case auditor(String)

    /// The longest name, in Unicode scalar values.
    public static let maximumNameLength = 100

    /// The actor written as `text`, or nil if `text` is not one (including a name that breaks the text rule).
    public init?(_ text: String) {
        switch text {
        case "operator": self = .operator
        case "system": self = .system
        case "unauthenticated": self = .unauthenticated
        default:
            guard let colon = text.firstIndex(of: ":") else { return nil }
            let name = String(text[text.index(after: colon)...])
            guard AuditText.isValid(name, length: 1...Self.maximumNameLength) else { return nil }
            switch text[..<colon] {
            case "party": self = .party(name)
            case "auditor": self = .auditor(name)
            default: return nil
            }
        }
    }

    /// The actor as written in an entry.
    public var text: String {
        switch self {
        case .operator: return "operator"
        case .system: return "system"
        case .unauthenticated: return "unauthenticated"
        case .party(let name): return "party:" + name
        case .auditor(let name): return "auditor:" + name
        }
    }

    /// Whether the name (if any) follows the text rule, so that the actor can be written.
    public var isValid: Bool { Self(text) == self }

    public var description: String { text }
}
