import ArgumentParser
import AsyncHTTPClient
import BlindmatchProtocol
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Fetch your party's view of a succeeded run into a file (mode 0600).",
        discussion: """
            Needs that party's own token: the operator, auditors and the other party are refused, and so is a party whose role the disclosure policy grants nothing. The view holds the solver's pairs from your side only, filtered to the granted statuses, projected onto the granted fields (row is your token file's row; counterpart_row the other side's, which only its local map resolves), de-duplicated and ordered by row (Protocol/service.md, "Disclosure policy"). Turn rows back into records with your own local map (the .map.csv `tokenise` wrote). The receipt of each page read is kept in --receipts.

            Every page is fetched and written into one file, atomically: CSV (one header row, the granted fields in snake_case) or JSON (the contract's ResultPage holding every row, nextCursor null). Each page read is recorded in the audit log. Prints the number of rows.
            """
    )

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case csv
        case json
    }

    @OptionGroup var connection: ServiceConnection
    @OptionGroup var receipts: ReceiptOptions

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Option(help: ArgumentHelp("The run's id.", valueName: "run-id"))
    var run: String

    @Option(help: ArgumentHelp("Your party's registered name.", valueName: "name"))
    var party: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the results.", valueName: "file"))
    var output: String

    @Option(help: "The output's format.")
    var format = OutputFormat.csv

    @Option(
        name: .customLong("page-size"),
        help: ArgumentHelp("Rows per request, 1–100,000 (default: the server's, 10,000).", valueName: "n"))
    var pageSize: Int?

    func validate() throws {
        if let pageSize, !(1...100_000).contains(pageSize) {
            throw ValidationError("--page-size must be from 1 to 100000")
        }
    }

    /// How long one page may take.
    static let pageTimeout = TimeAmount.minutes(10)

    func run() async throws {
        try await reportingErrors {
            let (rows, pages) = try await Self.fetch(
                project: project, run: run, party: party, format: format, pageSize: pageSize, into: output,
                connection: connection, receipts: receipts)
            Console.output(
                "\(Format.count(rows)) rows\nwrote \(output) (mode 0600, \(format.rawValue), \(pages) \(pages == 1 ? "page" : "pages"))\n"
            )
        }
    }

    /// Fetches every page of `party`'s view of a succeeded run (with that party's token) into `output` (mode 0600),
    /// which appears only once complete; returns the rows and pages.
    static func fetch(
        project: String, run: String, party: String, format: OutputFormat = .csv, pageSize: Int? = nil,
        into output: String, connection: ServiceConnection, receipts: ReceiptOptions
    ) async throws -> (rows: Int, pages: Int) {
        let file = try AtomicFile(destination: output, mode: 0o600)
        InterruptCleanup.install(removing: [file.temporaryPath])
        defer { InterruptCleanup.uninstall() }
        var endpoint = Endpoint(.GET, "projects", project, "runs", run, "results", party)
        if let pageSize { endpoint.query.append(("limit", String(pageSize))) }
        let progress = Progress(label: "fetching results", totalBytes: nil)
        defer { progress.finish() }
        let (rows, pages) = try await connection.withClient { client in
            let keep: (HTTPClientResponse) throws -> Void = { response in
                try receipts.keep(response, action: "result.read", project: project, server: client.server)
            }
            switch format {
            case .csv:
                return try await fetchCSV(endpoint, client: client, into: file, progress: progress, keep: keep)
            case .json:
                return try await fetchJSON(endpoint, client: client, into: file, progress: progress, keep: keep)
            }
        }
        try file.commit()
        return (rows, pages)
    }

    /// Writes every CSV page: the first page's header row, then each page's rows (a later page's header must be
    /// the same and is dropped). Returns the rows and pages.
    private static func fetchCSV(
        _ endpoint: Endpoint, client: ServiceClient, into file: AtomicFile, progress: Progress,
        keep: (HTTPClientResponse) throws -> Void
    ) async throws -> (rows: Int, pages: Int) {
        var header: [UInt8]?
        var rows = 0
        var pages = 0
        try await client.followCursor(endpoint) { page in
            let response = try await client.response(page, accept: "text/csv", deadline: .now() + Self.pageTimeout)
            try ServiceClient.expect(response, contentType: "text/csv", for: endpoint, from: client.server)
            try keep(response)
            var pageHeader: [UInt8] = []
            var isInHeader = true
            var lastByte: UInt8 = 0x0A
            try await client.stream(response, for: endpoint) { buffer in
                var bytes = buffer.readableBytesView[...]
                if isInHeader {
                    guard let end = bytes.firstIndex(of: 0x0A) else {
                        pageHeader += bytes
                        return
                    }
                    pageHeader += bytes[...end]
                    bytes = bytes[bytes.index(after: end)...]
                    isInHeader = false
                    if header == nil {
                        header = pageHeader
                        try file.write(pageHeader)
                    } else if header != pageHeader {
                        throw ClientError(
                            .invalidResponse,
                            "\(client.server) answered \(endpoint) with pages whose CSV headers differ")
                    }
                }
                guard let last = bytes.last else { return }
                rows += bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                lastByte = last
                try bytes.withUnsafeBytes { try file.write($0) }
                progress.update(records: rows, bytes: 0)
            }
            guard !isInHeader || pageHeader.isEmpty else {
                throw ClientError(
                    .invalidResponse, "\(client.server) answered \(endpoint) with a CSV header row but no line end")
            }
            if lastByte != 0x0A {
                try file.write([0x0A])
                rows += 1
            }
            pages += 1
            return try Self.nextCursor(link: response.headers.first(name: "Link"), for: endpoint, client: client)
        }
        return (rows, pages)
    }

    /// Writes every JSON page's rows into one `ResultPage` whose `nextCursor` is null. Returns the rows and pages.
    private static func fetchJSON(
        _ endpoint: Endpoint, client: ServiceClient, into file: AtomicFile, progress: Progress,
        keep: (HTTPClientResponse) throws -> Void
    ) async throws -> (rows: Int, pages: Int) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func json(_ value: some Encodable) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        var first: ServiceAPI.ResultPage?
        var rows = 0
        var pages = 0
        try await client.followCursor(endpoint) { request in
            let (response, bytes) = try await client.jsonBytes(request)
            try keep(response)
            let page = try client.decode(ServiceAPI.ResultPage.self, from: bytes, for: endpoint)
            if let first {
                guard page.run == first.run, page.party == first.party, page.fields == first.fields,
                    page.totalRows == first.totalRows
                else {
                    throw ClientError(
                        .invalidResponse, "\(client.server) answered \(endpoint) with pages of different views")
                }
            } else {
                first = page
                try file.write(
                    "{\"run\":\(try json(page.run)),\"party\":\(try json(page.party)),\"role\":\(try json(page.role)),"
                        + "\"counterpartParty\":\(try json(page.counterpartParty)),\"fields\":\(try json(page.fields)),"
                        + "\"scoreDecimals\":\(page.scoreDecimals),\"totalRows\":\(page.totalRows),\"items\":[")
            }
            for item in page.items {
                try file.write((rows == 0 ? "\n" : ",\n") + (try Self.jsonObject(item, encoding: json)))
                rows += 1
            }
            pages += 1
            progress.update(records: rows, bytes: 0)
            return page.nextCursor
        }
        try file.write("\n],\"nextCursor\":null}\n")
        if let first, first.totalRows != rows {
            throw ClientError(
                .invalidResponse,
                "\(client.server) answered \(endpoint) with \(rows) rows in all, but its pages say totalRows \(first.totalRows)"
            )
        }
        return (rows, pages)
    }

    /// A row as a JSON object with its members in the contract's field order (`row`, `counterpartRow`, `rule`,
    /// `score`, `status`), each present only when granted.
    static func jsonObject(
        _ row: ServiceAPI.ResultRow, encoding json: (String) throws -> String
    ) rethrows -> String {
        var members = ["\"row\":\(row.row)"]
        if let counterpartRow = row.counterpartRow { members.append("\"counterpartRow\":\(counterpartRow)") }
        if let rule = row.rule { members.append("\"rule\":\(try json(rule))") }
        if let score = row.score { members.append("\"score\":\(try json(score))") }
        if let status = row.status { members.append("\"status\":\(try json(status.rawValue))") }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// The `cursor` of the `Link` header's `rel="next"` target (`<…?cursor=…&limit=…>; rel="next"`), or nil when
    /// there is no next page. Only the cursor is taken: the next page is requested from `--server` itself, never
    /// from a URL the server names, so that the token goes nowhere else.
    static func nextCursor(link: String?, for endpoint: Endpoint, client: ServiceClient) throws -> String? {
        guard let link else { return nil }
        for value in link.split(separator: ",") {
            guard let open = value.firstIndex(of: "<"), let close = value[open...].firstIndex(of: ">") else { continue }
            let parameters = value[value.index(after: close)...].split(separator: ";").map {
                $0.filter { $0 != " " && $0 != "\t" && $0 != "\"" }.lowercased()
            }
            guard parameters.contains("rel=next") else { continue }
            let target = value[value.index(after: open)..<close]
            let query = target.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
            for pair in query.split(separator: "&") where pair.hasPrefix("cursor=") {
                let cursor = String(pair.dropFirst("cursor=".count))
                guard !cursor.isEmpty, cursor.utf8.allSatisfy(Self.isCursorByte) else { break }
                return cursor
            }
            throw ClientError(
                .invalidResponse, "\(client.server) answered \(endpoint) with a Link to the next page without a cursor")
        }
        return nil
    }

    /// The contract's cursor alphabet, `[A-Za-z0-9_-]`.
    private static func isCursorByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "-")
    }
}
