import Foundation
import Synchronization

/// Points inside the store's writes where a crash test stops the server so that it can kill it exactly there
/// (Tests/BlindmatchCLITests/CrashTests.swift): in the middle of a results insert, of an audit export, of a checkpoint.
///
/// Only in debug builds, and only when `serve --test-hooks` is given and `BLINDMATCH_TEST_PAUSE` names the point: a
/// release build has no hook at all, and nothing a client sends can reach one (the flag and the environment are the
/// operator's). A paused write says so on standard error and holds for up to two minutes, then goes on.
public enum TestHooks {
    public enum Point: String, Sendable, CaseIterable {
        /// Inside the transaction that writes a run's second chunk of result rows, after its inserts: the first chunk
        /// is committed, the run is still `running`.
        case resultsInsert = "results-insert"
        /// Inside the transaction of `GET /audit/log`, after `audit.exported` and before its checkpoint.
        case export
        /// Inside a checkpoint's transaction, after the checkpoint entry is inserted.
        case checkpoint
        /// In a worker (`blindmatch worker --test-hooks`), with a chunk claimed and its lease renewed, before it is
        /// computed: the cluster test SIGKILLs the worker there (Scripts/cluster-test.sh).
        case chunkClaimed = "chunk-claimed"
    }

    private static let enabled = Mutex<Set<Point>>([])

    /// Whether hooks are compiled into this build.
    public static var available: Bool {
        #if DEBUG
            true
        #else
            false
        #endif
    }

    /// Arms the points `BLINDMATCH_TEST_PAUSE` names (comma-separated), in a debug build.
    public static func arm() {
        #if DEBUG
            let names = ProcessInfo.processInfo.environment["BLINDMATCH_TEST_PAUSE"] ?? ""
            let points = Set(names.split(separator: ",").compactMap { Point(rawValue: String($0)) })
            enabled.withLock { $0 = points }
        #endif
    }

    /// Rows per results transaction while hooks are armed: small, so that a test's few hundred rows take several.
    static var resultChunk: Int? {
        enabled.withLock { $0.isEmpty } ? nil : 20
    }

    /// Holds the calling thread (inside a write transaction) when `point` is armed, once, so that the test can kill
    /// the process there.
    static func pause(at point: Point) {
        #if DEBUG
            guard enabled.withLock({ $0.remove(point) != nil }) else { return }
            FileHandle.standardError.write(Data("blindmatch: test hook: paused at \(point.rawValue)\n".utf8))
            for _ in 0..<1200 { usleep(100_000) }
        #endif
    }
}
