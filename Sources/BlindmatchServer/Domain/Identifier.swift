import BlindmatchProtocol

/// Server-assigned ids: a one-letter kind, `-`, 16 lower-case hex digits.
enum Identifier {
    static func make(_ kind: String) throws -> String {
        kind + "-" + Hex.encode(try SecureRandom.bytes(8))
    }

    /// An id from a path, for a message: echoed only when it has an id's shape.
    static func printable(_ id: String) -> String {
        let scalars = id.unicodeScalars
        return scalars.count <= 20
            && scalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
            }
            ? id : "(that id)"
    }
}
