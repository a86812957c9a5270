import BlindmatchProtocol
import Foundation

/// Bearer tokens: `bm_` and 43 base64url characters (32 random bytes); the store keeps only the SHA-256.
enum BearerToken {
    static func make() throws -> String {
        "bm_" + Base64URL.encode(try SecureRandom.bytes(32))
    }

    /// The stored hash of a presented token, or nil when it does not have a token's shape.
    static func hash(_ token: String) -> [UInt8]? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 46, token.hasPrefix("bm_"),
            utf8[3...].allSatisfy({ Base64URL.alphabet.contains($0) })
        else { return nil }
        return SHA256Hasher.hash(utf8)
    }
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
enum Base64URL {
    static let alphabet = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8))

    static func encode(_ bytes: [UInt8]) -> String {
        var text = Base64.encode(bytes)
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
