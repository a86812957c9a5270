import Glibc

/// Removes a tokenising run's temporary files when SIGINT or SIGTERM arrives, then exits with 128 + the signal's
/// number (130, 143), as a shell reports a process killed by it (SPEC §6.8). Without it an interrupted run left
/// `.partial` files and a `.work` folder holding encoded rows and raw record keys.
///
/// A signal handler may call only async-signal-safe functions, so the paths are laid out before the run as
/// NUL-terminated C strings in one buffer, ended by an empty string; the handler walks it with `unlink` (and `rmdir`
/// for the folder, which comes last) and `_exit`s. A signal the process was started ignoring (a background job of a
/// script) stays ignored; one it was started blocking is unblocked, or the run could not be stopped at all. SIGKILL,
/// a crash or a power cut still leave the files behind, until the next run to the same output removes them
/// (`StaleTemporaryFiles`).
public enum InterruptCleanup {
    static let signals = [SIGINT, SIGTERM]
    /// The buffer the handler reads; replaced only while no handler is installed.
    nonisolated(unsafe) static var paths: UnsafeMutablePointer<CChar>?

    /// Lays out `paths` and installs the handlers.
    public static func install(removing paths: [String]) {
        uninstall()
        var bytes: [CChar] = []
        for path in paths { bytes.append(contentsOf: path.utf8CString) }
        bytes.append(0)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        buffer.initialize(from: bytes, count: bytes.count)
        Self.paths = buffer
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for number in signals where !isIgnored(number) {
            signal(number, interruptHandler)
            sigaddset(&unblocked, number)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
    }

    /// Restores the default handlers (leaving ignored signals ignored) and frees the buffer.
    public static func uninstall() {
        for number in signals where !isIgnored(number) { signal(number, SIG_DFL) }
        paths?.deallocate()
        paths = nil
    }

    private static func isIgnored(_ number: Int32) -> Bool {
        var current = sigaction()
        guard sigaction(number, nil, &current) == 0, let handler = current.__sigaction_handler.sa_handler else {
            return false
        }
        return unsafeBitCast(handler, to: Int.self) == 1  // SIG_IGN
    }
}

/// The SIGINT/SIGTERM handler: async-signal-safe calls only (unlink, rmdir, _exit) over the prepared buffer.
private func interruptHandler(_ signal: Int32) {
    if var path = InterruptCleanup.paths {
        while path.pointee != 0 {
            if unlink(path) != 0 { rmdir(path) }
            while path.pointee != 0 { path += 1 }
            path += 1
        }
    }
    _exit(128 + signal)
}
