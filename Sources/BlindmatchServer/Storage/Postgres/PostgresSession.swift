import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO

/// One leased connection of the PostgreSQL store, with the few calls the store makes: SQL with `?` placeholders and
/// GRDB values as arguments (so that the store's SQL reads as the SQLite store's), rows read back as GRDB `Row`s
/// (whose column lookup ignores case, as PostgreSQL folds unquoted names to lower case).
struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs `body` in a transaction, having taken the advisory lock `lock` first when given; rolls back and rethrows
    /// the body's own error when it throws.
    func transaction<Result>(lock: Int64? = nil, _ body: (PostgresSession) async throws -> Result) async throws
        -> Result
    {
        try await execute("BEGIN")
        do {
            if let lock { try await execute("SELECT pg_advisory_xact_lock(?)", [lock]) }
            let result = try await body(self)
            try await execute("COMMIT")
            return result
        } catch {
            try? await execute("ROLLBACK")
            throw error
        }
    }

    /// Runs a statement; returns the rows it returned, if any.
    @discardableResult
    func rows(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) async throws -> [Row] {
        try await cells(sql, arguments).map {
            Row(
                Dictionary(
                    $0.map { ($0.0, $0.1 as (any DatabaseValueConvertible)?) }, uniquingKeysWith: { first, _ in first })
            )
        }
    }

    /// Each row's columns in order, as GRDB values.
    func cells(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?]) async throws
        -> [[(String, DatabaseValue)]]
    {
        let query = try Self.query(sql, arguments)
        do {
            var rows: [[(String, DatabaseValue)]] = []
            for try await row in try await connection.query(query, logger: logger) {
                rows.append(try Self.values(row))
            }
            return rows
        } catch let error as PSQLError {
            throw Self.storageError(error)
        }
    }

    /// Runs a query built by the caller (arrays as binds).
    func execute(_ query: PostgresQuery) async throws {
        do {
            for try await _ in try await connection.query(query, logger: logger) {}
        } catch let error as PSQLError {
            throw Self.storageError(error)
        }
    }

    func execute(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) async throws {
        try await rows(sql, arguments)
    }

    /// Runs an UPDATE or DELETE and returns how many rows it changed.
    func changes(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) async throws -> Int {
        try await rows(sql + " RETURNING 1", arguments).count
    }

    func row(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) async throws -> Row? {
        try await rows(sql, arguments).first
    }

    /// The first column of every row, as text.
    func strings(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) async throws -> [String] {
        try await cells(sql, arguments).compactMap { $0.first.flatMap { String.fromDatabaseValue($0.1) } }
    }

    /// The first column of the first row, as a number (nil when there is no row or it is NULL).
    func int(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) async throws -> Int? {
        try await cells(sql, arguments).first?.first.flatMap { Int.fromDatabaseValue($0.1) }
    }

    func string(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) async throws -> String? {
        try await cells(sql, arguments).first?.first.flatMap { String.fromDatabaseValue($0.1) }
    }

    /// The statement with `$1…$n` for its `?` (outside quotes) and its arguments bound.
    static func query(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?]) throws -> PostgresQuery {
        var text = ""
        text.reserveCapacity(sql.utf8.count + 8)
        var number = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?" && !quoted {
                number += 1
                text += "$\(number)"
            } else {
                text.append(character)
            }
        }
        guard number == arguments.count else {
            throw ServerError(.storage, "a statement has \(number) placeholders but \(arguments.count) arguments")
        }
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch (argument?.databaseValue ?? .null).storage {
            case .null: binds.appendNull()
            case .int64(let value): binds.append(value)
            case .double(let value): binds.append(value)
            case .string(let value): binds.append(value)
            case .blob(let value): binds.append(ByteBuffer(bytes: value))
            }
        }
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }

    /// A PostgreSQL row's columns as GRDB values: text, integers, floating point, bytes and booleans (as 0 and 1).
    static func values(_ row: PostgresRow) throws -> [(String, DatabaseValue)] {
        var values: [(String, DatabaseValue)] = []
        for cell in row {
            values.append((cell.columnName, try value(of: cell)))
        }
        return values
    }

    /// A cell as a GRDB value; a type the store does not use is a storage error naming the column.
    static func value(of cell: PostgresCell) throws -> DatabaseValue {
        do {
            let value: DatabaseValue
            if let bytes = cell.bytes {
                if cell.dataType == .bytea && cell.format == .binary {
                    return Data(bytes.readableBytesView).databaseValue
                }
                switch cell.dataType {
                case .int2, .int4, .int8, .oid: value = try cell.decode(Int64.self).databaseValue
                case .float4, .float8, .numeric: value = try cell.decode(Double.self).databaseValue
                case .bool: value = (try cell.decode(Bool.self) ? 1 : 0).databaseValue
                default: value = try cell.decode(String.self).databaseValue
                }
            } else {
                value = .null
            }
            return value
        } catch {
            throw ServerError(
                .storage, "PostgreSQL: column \(cell.columnName) of type \(cell.dataType) cannot be read")
        }
    }

    static func storageError(_ error: PSQLError) -> ServerError {
        let state = error.serverInfo?[.sqlState] ?? "none"
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        return ServerError(.storage, "PostgreSQL: \(message) (SQLSTATE \(state))")
    }
}
