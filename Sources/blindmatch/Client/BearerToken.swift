import BlindmatchProtocol

/// A bearer token's secret (`Protocol/service.md`, "Roles and tokens"): `bm_` and 43 base64url characters.
///
/// Read from a file only its owner can read, or from the environment; never from the command line, where other
/// users of the machine and the shell's history would see it. Its description is redacted, and the only way out
/// are ``authorizationHeader`` and ``fileContents``: do not print, log or put it in an error.
struct BearerToken: Sendable, CustomStringConvertible {
    private let secret: String

    /// The token in `text`, with one trailing newline (LF or CRLF) dropped.
    ///
    /// - Parameter source: where the text came from, named in errors (never the text itself).
    init(text: String, source: String) throws {
        var bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        let body = bytes.dropFirst(3)
        let isToken =
            bytes.starts(with: Array("bm_".utf8)) && body.count == 43
            && body.allSatisfy { byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_")
            }
        guard isToken else {
            throw ClientError(
                .missingToken,
                "\(source): not a bearer token (expected bm_ and 43 base64url characters, as `token issue` writes)")
        }
        secret = String(decoding: bytes, as: UTF8.self)
    }

    /// Reads the token from a file that only its owner may read (the checks of the project's secret files,
    /// SPEC §1.2: no symbolic link, a regular file, no access for group or others, owned by the caller).
    init(contentsOfFile path: String) throws {
        // The same check as readSecretFile's, first, for advice that fits a token; readSecretFile makes it again on
        // the descriptor it reads.
        if let mode = try? FileIO.permissions(of: path), mode & 0o077 != 0 {
            throw ClientError(
                .missingToken,
                "\(path): token file has mode \(String(mode, radix: 8)); others could read it. Run `chmod 600 \(path)` "
                    + "if it has not been exposed, otherwise have the operator revoke the token and issue another")
        }
        let bytes = try FileIO.readSecretFile(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ClientError(.missingToken, "\(path): not a bearer token (not UTF-8 text)")
        }
        try self.init(text: text, source: path)
    }

    /// The value of the `Authorization` header.
    var authorizationHeader: String { "Bearer \(secret)" }

    /// The token and a newline: what `token issue` writes into its 0600 file.
    var fileContents: String { secret + "\n" }

    var description: String { "BearerToken(redacted)" }
}
