import BlindmatchProtocol

/// One row of a synthetic file: the seven columns as written, the person behind it, and the noise it carries.
public struct SyntheticRecord: Sendable, Hashable {
    /// The columns of every synthetic file, in order.
    public static let columns = ["id", "given_name", "surname", "dob", "sex", "postcode", "nino"]

    public var id: String
    public var givenName: String
    public var surname: String
    public var dateOfBirth: String
    public var sex: String
    public var postcode: String
    public var nino: String
    /// The truth behind the record.
    public var person: SyntheticPerson
    /// The noise applied.
    public var noise: NoiseKinds
    /// The noise kinds this record was eligible for (each was drawn at its rate).
    public var eligible: NoiseKinds

    /// The values in column order.
    public var fields: [String] { [id, givenName, surname, dateOfBirth, sex, postcode, nino] }

    /// Appends the record as one CSV line (RFC 4180 quoting where needed, LF ending).
    public func appendCSVLine(to output: inout [UInt8]) {
        Self.append(id, to: &output)
        for field in [givenName, surname, dateOfBirth, sex, postcode, nino] {
            output.append(UInt8(ascii: ","))
            Self.append(field, to: &output)
        }
        output.append(UInt8(ascii: "\n"))
    }

    /// One field: `CSVText.appendField` where quoting is needed, a plain copy otherwise (the common case, kept out
    /// of the generic, unspecialised path across modules, which is slow and takes a runtime lock per call).
    private static func append(_ field: String, to output: inout [UInt8]) {
        var field = field
        field.withUTF8 { bytes in
            let needsQuotes = bytes.contains {
                $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D
            }
            if needsQuotes {
                CSVText.appendField(bytes, to: &output)
            } else {
                output.append(contentsOf: bytes)
            }
        }
    }
}
