import Foundation
import Synchronization

/// The PostgreSQL the tests use, and a fresh database in it for each test.
///
/// `BLINDMATCH_TEST_DATABASE` (a URL without password, `postgres://USER@HOST:PORT/DB`) with
/// `BLINDMATCH_TEST_DATABASE_PASSWORD_FILE` names one (`.ci/run` sets them; the role needs CREATEDB). Without them a
/// private cluster is started once per test process (initdb and pg_ctl from Debian's `postgresql`, in a temporary
/// directory, on a free loopback port, password authentication) and stopped when the process exits. Without
/// PostgreSQL installed, the tests that need it fail and say how to install it: they never skip.
public enum PostgresTestCluster {
    /// Where the tests' server is and how to log in.
    public struct Server: Sendable {
        public var host: String
        public var port: Int
        public var user: String
        /// A file of mode 0600 owned by this process holding the password; nil when none is needed.
        public var passwordFile: String?
    }

    /// A database of its own for one test; `drop()` removes it.
    public struct Database: Sendable {
        public let server: Server
        public let name: String

        /// `postgres://USER@HOST:PORT/NAME?sslmode=disable`.
        public var url: String { "postgres://\(server.user)@\(server.host):\(server.port)/\(name)?sslmode=disable" }
        public var passwordFile: String? { server.passwordFile }

        /// Drops the database, closing whatever connections are still open to it.
        public func drop() {
            _ = try? PostgresTestCluster.psql(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    /// A new, empty database with a random name.
    public static func makeDatabase() throws -> Database {
        let server = try self.server()
        let name = "blindmatch_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql(server, "CREATE DATABASE \(name)")
        return Database(server: server, name: name)
    }

    private static let started = Mutex<Result<Server, PostgresTestError>?>(nil)

    /// The server: the one the environment names, or the private cluster (started on first use).
    public static func server() throws -> Server {
        try started.withLock { state in
            if let state { return try state.get() }
            let result: Result<Server, PostgresTestError>
            do {
                result = .success(try locateOrStart())
            } catch let error as PostgresTestError {
                result = .failure(error)
            } catch {
                result = .failure(PostgresTestError("\(error)"))
            }
            state = result
            return try result.get()
        }
    }

    private static func locateOrStart() throws -> Server {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["BLINDMATCH_TEST_DATABASE"], !text.isEmpty {
            guard let components = URLComponents(string: text), let user = components.user,
                let host = components.host
            else { throw PostgresTestError("BLINDMATCH_TEST_DATABASE is not postgres://USER@HOST[:PORT]/DB: \(text)") }
            return Server(
                host: host, port: components.port ?? 5432, user: user,
                passwordFile: environment["BLINDMATCH_TEST_DATABASE_PASSWORD_FILE"])
        }
        return try startPrivateCluster()
    }

    /// Debian's PostgreSQL binaries, newest version first.
    static func binaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb") }
            .sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        guard let version = versions.first else {
            throw PostgresTestError(
                "the PostgreSQL store's tests need PostgreSQL: install it with `apt-get install -y postgresql` (no initdb under /usr/lib/postgresql/*/bin), or set BLINDMATCH_TEST_DATABASE and BLINDMATCH_TEST_DATABASE_PASSWORD_FILE"
            )
        }
        return "\(root)/\(version)/bin"
    }

    /// The private cluster's directory and binaries, for the stop at exit.
    nonisolated(unsafe) private static var privateCluster: (bin: String, data: String, asPostgres: Bool)?

    private static func startPrivateCluster() throws -> Server {
        let bin = try binaries()
        let asPostgres = geteuid() == 0
        removeAbandonedClusters(bin: bin, asPostgres: asPostgres)
        let directory = NSTemporaryDirectory() + "blindmatch-pg-" + UUID().uuidString.prefix(8)
        let data = directory + "/data"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // The test process that owns the cluster: a later one stops the cluster if this one was killed before its
        // exit handler ran.
        guard FileManager.default.createFile(atPath: directory + "/owner", contents: Data("\(getpid())".utf8)) else {
            throw PostgresTestError("cannot write \(directory)/owner")
        }
        let password = UUID().uuidString
        // The password as the server's initdb reads it (owned by whoever runs the server) and as the tests give it
        // (0600, owned by this process, as `--database-password-file` requires).
        let serverPasswordFile = directory + "/initdb-password"
        let passwordFile = directory + "/password"
        for file in [serverPasswordFile, passwordFile] {
            guard FileManager.default.createFile(atPath: file, contents: Data((password + "\n").utf8)) else {
                throw PostgresTestError("cannot write \(file)")
            }
            chmod(file, 0o600)
        }
        if asPostgres {
            // initdb refuses to run as root: the cluster belongs to the `postgres` user.
            try run("/bin/chown", ["-R", "postgres:postgres", directory])
            try run("/bin/chmod", ["700", directory])
            chown(passwordFile, 0, 0)
        }
        let port = try freePort()
        try run(
            bin + "/initdb",
            [
                "-D", data, "-U", "blindmatch", "--auth=scram-sha-256", "--pwfile=" + serverPasswordFile,
                "--encoding=UTF8", "--locale=C", "--no-sync",
            ], asPostgres: asPostgres)
        try run(
            bin + "/pg_ctl",
            [
                "-D", data, "-l", directory + "/log", "-w", "-t", "60", "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c synchronous_commit=off -c full_page_writes=off",
                "start",
            ], asPostgres: asPostgres)
        privateCluster = (bin, data, asPostgres)
        atexit {
            guard let cluster = PostgresTestCluster.privateCluster else { return }
            try? PostgresTestCluster.run(
                cluster.bin + "/pg_ctl", ["-D", cluster.data, "-m", "immediate", "stop"],
                asPostgres: cluster.asPostgres)
            try? FileManager.default.removeItem(atPath: (cluster.data as NSString).deletingLastPathComponent)
        }
        return Server(host: "127.0.0.1", port: port, user: "blindmatch", passwordFile: passwordFile)
    }

    /// Stops and removes the private clusters whose test process is gone (killed before its exit handler ran).
    private static func removeAbandonedClusters(bin: String, asPostgres: Bool) {
        let temporary = NSTemporaryDirectory()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for name in names where name.hasPrefix("blindmatch-pg-") && !name.hasPrefix("blindmatch-pg-output-") {
            let directory = temporary + name
            guard let text = try? String(contentsOfFile: directory + "/owner", encoding: .utf8),
                let owner = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                kill(owner, 0) != 0 && errno == ESRCH
            else { continue }
            try? run(bin + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "stop"], asPostgres: asPostgres)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Runs one SQL statement against the `postgres` database as the tests' user.
    static func psql(_ server: Server, _ sql: String) throws {
        let bin = (try? binaries()) ?? "/usr/bin"
        let psql = FileManager.default.isExecutableFile(atPath: bin + "/psql") ? bin + "/psql" : "/usr/bin/psql"
        var environment = ProcessInfo.processInfo.environment
        if let file = server.passwordFile {
            environment["PGPASSWORD"] = try String(contentsOfFile: file, encoding: .utf8)
                .trimmingCharacters(in: .newlines)
        }
        try run(
            psql,
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.host, "-p", "\(server.port)", "-U", server.user,
                "-d", "postgres", "-c", sql,
            ], environment: environment)
    }

    /// Runs a program to its end; throws with its output when it fails.
    ///
    /// posix_spawn and waitpid rather than Foundation's `Process`, whose descriptors the server that `pg_ctl start`
    /// leaves running would inherit and hold: the wait would not return. The output goes to a file, closed on exec
    /// in everything but the child's standard output and error.
    static func run(
        _ program: String, _ arguments: [String], asPostgres: Bool = false, environment: [String: String]? = nil
    ) throws {
        let argv =
            asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments : [program] + arguments
        let environment = environment ?? ProcessInfo.processInfo.environment
        let outputPath = NSTemporaryDirectory() + "blindmatch-pg-output-" + UUID().uuidString
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment)
        guard spawned == 0 else { throw PostgresTestError("cannot run \(argv[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw PostgresTestError("cannot wait for \(argv[0])") }
        }
        // Exited normally with status 0.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw PostgresTestError(
                "\((program as NSString).lastPathComponent) \(arguments.first ?? "") failed (status \(status)): \(text)"
            )
        }
    }

    /// A loopback port free now.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PostgresTestError("cannot open a socket") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw PostgresTestError("cannot bind a loopback port") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw PostgresTestError("cannot read the bound port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why the tests' PostgreSQL is not there.
public struct PostgresTestError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
