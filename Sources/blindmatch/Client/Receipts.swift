import ArgumentParser
import AsyncHTTPClient
import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import Glibc

/// Where a party keeps its receipts (Protocol/service.md, "Receipts"): each upload, withdrawal, run request,
/// approval and results page the service records is answered with a `Blindmatch-Receipt`, which the command writes
/// into this folder as one small JSON file. `blindmatch audit verify LOG --receipts DIR` later proves that each is in
/// an exported log, unchanged.
struct ReceiptOptions: ParsableArguments {
    @Option(
        name: .customLong("receipts"),
        help: ArgumentHelp(
            "The folder to keep the service's receipts in, for `audit verify --receipts` (default: receipts).",
            valueName: "dir"))
    var directory = "receipts"

    /// Sends `endpoint` (with an optional JSON body), keeps the receipt of `action` its answer carries, and decodes
    /// the answer.
    func send<Response: Decodable>(
        _ endpoint: Endpoint, sending body: (some Encodable)? = String?.none, action: String, project: String,
        client: ServiceClient, as type: Response.Type = Response.self
    ) async throws -> Response {
        let (response, bytes) = try await client.jsonBytes(endpoint, sending: body)
        try keep(response, action: action, project: project, server: client.server)
        return try client.decode(type, from: bytes, for: endpoint)
    }

    /// Keeps the receipt a response carries, as `DIR/<seq>-<action>.json`; a response without one is an error (the
    /// service must give one for this action).
    func keep(_ response: HTTPClientResponse, action: String, project: String, server: String) throws {
        guard let header = response.headers.first(name: "Blindmatch-Receipt"),
            let receipt = AuditReceipt(header: header)
        else {
            throw ClientError(
                .invalidResponse,
                "\(server) recorded the \(action) but gave no receipt for it (Blindmatch-Receipt); keep the server's answer and ask the operator why"
            )
        }
        try ReceiptFile(action: action, project: project, server: server, receipt: receipt.header)
            .write(into: directory, seq: receipt.seq)
    }
}

/// One receipt as kept on disk.
struct ReceiptFile: Codable, Equatable {
    var action: String
    var project: String
    var server: String
    /// The `Blindmatch-Receipt` header's text.
    var receipt: String

    func write(into directory: String, seq: Int) throws {
        if !FileIO.exists(directory) {
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
                throw ClientError(
                    .invalidArgument,
                    "\(directory): cannot create the receipts folder (\(String(cString: strerror(errno))))")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let file = try AtomicFile(destination: "\(directory)/\(seq)-\(action).json", mode: 0o600)
        try file.write(Array(try encoder.encode(self)) + [0x0A])
        try file.commit()
    }

    /// Every receipt in `directory` (files ending `.json`), with its path, in name order.
    static func all(in directory: String) throws -> [(path: String, receipt: AuditReceipt)] {
        guard FileIO.exists(directory) else { throw ClientError(.invalidArgument, "\(directory): no such folder") }
        return try FileIO.entries(of: directory).filter { $0.hasSuffix(".json") }.sorted().map { name in
            let path = "\(directory)/\(name)"
            let bytes = try FileIO.readAll(path)
            guard let file = try? JSONDecoder().decode(ReceiptFile.self, from: Data(bytes)),
                let receipt = AuditReceipt(header: file.receipt)
            else {
                throw ClientError(.invalidArgument, "\(path): not a receipt that blindmatch wrote (member receipt)")
            }
            return (path, receipt)
        }
    }
}
