import BlindmatchContract
import BlindmatchProtocol
import GRDB

/// A row of `upload`: an accepted token file's metadata (the file itself is in the ``TokenFileStore``).
struct UploadRecord: Sendable {
    static let databaseTableName = "upload"

    var id: String
    var project: String
    var party: String
    var sha256: String
    var bytes: Int
    var records: Int
    var signer: String
    var schemaFingerprint: String
    var keyId: String
    var filterBits: Int
    var matchKeys: [String]
    var blockingKeys: [String]
    var fileCreatedAt: String
    var receivedAt: String
    var ordinal: Int
    var withdrawnAt: String?
    /// Whether this is the party's current upload: its latest accepted one, unless withdrawn (worked out, not
    /// stored).
    var current: Bool

    /// `latest` is the id of the party's latest accepted upload.
    init(row: Row, latest: String?) throws {
        id = row["id"]
        project = row["project"]
        party = row["party"]
        sha256 = row["sha256"]
        bytes = row["bytes"]
        records = row["records"]
        signer = row["signer"]
        schemaFingerprint = row["schemaFingerprint"]
        keyId = row["keyId"]
        filterBits = row["filterBits"]
        matchKeys = try row.stringList("matchKeys")
        blockingKeys = try row.stringList("blockingKeys")
        fileCreatedAt = row["fileCreatedAt"]
        receivedAt = row["receivedAt"]
        ordinal = row["ordinal"]
        withdrawnAt = row["withdrawnAt"]
        current = latest == id && withdrawnAt == nil
    }

    /// What every upload of a project must share (SPEC §6.7).
    var layout: UploadLayout {
        UploadLayout(filterBits: filterBits, matchKeys: matchKeys, blockingKeys: blockingKeys)
    }

    /// The `Upload` schema.
    var wire: Components.Schemas.Upload {
        .init(
            id: id, project: project, party: party, sha256: sha256, bytes: bytes, records: records, signer: signer,
            schemaFingerprint: schemaFingerprint, keyId: keyId, filterBits: filterBits, matchKeys: matchKeys,
            fileCreatedAt: fileCreatedAt, receivedAt: receivedAt, current: current,
            withdrawnAt: withdrawnAt)
    }
}

/// The layout every upload of a project shares (SPEC §6.7): filter length, match keys and blocking keys.
struct UploadLayout: Sendable, Equatable {
    var filterBits: Int
    var matchKeys: [String]
    var blockingKeys: [String]
}

/// An upload checked and ready to be recorded.
struct NewUpload: Sendable {
    var id: String
    var project: String
    var party: String
    var sha256: String
    var bytes: Int
    var header: TokenFileHeader
    var signer: String
}

extension UploadRecord {
    /// 422 `incompatibleUploads` unless the two uploads can be compared (SPEC §6.7): the same schema, key id, filter
    /// length and keys. Both stores check it inside the transaction that queues a run.
    static func requireComparable(_ a: UploadRecord, _ b: UploadRecord) throws {
        guard a.layout == b.layout, a.schemaFingerprint == b.schemaFingerprint, a.keyId == b.keyId else {
            throw APIError(
                .unprocessableContent, .incompatibleUploads,
                "the two uploads cannot be compared (SPEC §6.7): schema, key id, filter length or keys differ")
        }
    }
}
