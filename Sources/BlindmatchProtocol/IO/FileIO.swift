import Glibc

/// Small POSIX file helpers: whole-file reads, permission checks for secrets, and atomic replacement.
public enum FileIO {
    /// The whole contents of a file.
    public static func readAll(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ioError("cannot open", path) }
        defer { close(descriptor) }
        return try readAll(descriptor: descriptor, path: path)
    }

    /// Everything left to read from an open descriptor; `path` names it in errors.
    static func readAll(descriptor: Int32, path: String) throws -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot read", path)
            }
            if count == 0 { return output }
            output.append(contentsOf: chunk[0..<count])
        }
    }

    /// The permission bits of a file (e.g. `0o600`), following symbolic links.
    public static func permissions(of path: String) throws -> mode_t {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ioError("cannot read", path) }
        return info.st_mode & 0o7777
    }

    /// Reads a file that holds a secret (SPEC §1.2), refusing it when it is a symbolic link or not a regular file,
    /// when its group or others may read, write or execute it, or when it belongs to another user (root included:
    /// a secret is used only by its owner).
    ///
    /// The checks are made on the open descriptor, so the file checked is the file read.
    public static func readSecretFile(_ path: String) throws -> [UInt8] {
        // O_NOFOLLOW refuses a symbolic link; O_NONBLOCK keeps a FIFO from blocking the open (it is refused below).
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            if errno == ELOOP {
                throw ProtocolError(
                    .insecureSecretFile,
                    "\(path): is a symbolic link; give the secret file's own path (SPEC §1.2)")
            }
            throw ioError("cannot open", path)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw ioError("cannot read", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ProtocolError(.insecureSecretFile, "\(path): not a regular file (SPEC §1.2)")
        }
        let mode = info.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw ProtocolError(
                .insecureSecretFile,
                "\(path): secret file has mode \(String(mode, radix: 8)); others could read it. "
                    + "Run `chmod 600 \(path)` if it has not been exposed, otherwise make a new secret (SPEC §1.2)")
        }
        let user = geteuid()
        guard info.st_uid == user else {
            throw ProtocolError(
                .insecureSecretFile,
                "\(path): secret file belongs to user \(info.st_uid), not to the user running this (\(user)); "
                    + "only its owner may use it, even as root. Run the tool as its owner (SPEC §1.2)")
        }
        return try readAll(descriptor: descriptor, path: path)
    }

    /// Writes every byte of `bytes` to `descriptor`, retrying short writes and interruptions.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes {
                let rest = UnsafeRawBufferPointer(rebasing: $0[done...])
                return Glibc.write(descriptor, rest.baseAddress, rest.count)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot write", path)
            }
            done += count
        }
    }

    /// Whether a path exists.
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Size in bytes of a regular file, or nil.
    public static func size(of path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// The folder a path is in (`.` for a bare name, `/` at the root) and its last component.
    public static func folderAndName(of path: String) -> (folder: String, name: String) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        return (folder.isEmpty ? "/" : folder, path.split(separator: "/").last.map(String.init) ?? path)
    }

    /// The names in a folder, without `.` and `..`; none when it cannot be read.
    public static func entries(of folder: String) -> [String] {
        guard let stream = opendir(folder) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func ioError(_ what: String, _ path: String) -> ProtocolError {
        ProtocolError(.io, "\(path): \(what): \(String(cString: strerror(errno)))")
    }
}

/// A file written under a temporary name beside its destination and renamed into place only when complete, so a
/// reader never sees half a file (SPEC §6.8). Abandoned files are removed.
public final class AtomicFile {
    /// Where the file will appear.
    public let destination: String
    /// The temporary path being written.
    public let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    /// Creates the temporary file with `mode` (0600 for secrets and local maps).
    ///
    /// - Parameter temporaryPath: where to write until ``commit()``; by default a fresh
    ///   ``temporaryPath(for:)``. Choose it earlier only to know it in advance (to remove it on an interrupt).
    public init(destination: String, mode: mode_t = 0o644, temporaryPath: String? = nil) throws {
        self.destination = destination
        self.temporaryPath = temporaryPath ?? Self.temporaryPath(for: destination)
        descriptor = open(self.temporaryPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw FileIO.ioError("cannot create", self.temporaryPath) }
        // Held until the file is renamed or removed: a lock that can be taken marks a file of a killed run.
        flock(descriptor, LOCK_EX)
        // The umask must not widen or narrow what the protocol asks for.
        fchmod(descriptor, mode)
    }

    deinit {
        if !committed { abandon() }
    }

    /// A new temporary path beside `destination` (SPEC §6.8): `DIR/.NAME.XXXXXXXXXXXX.partial`, or with another
    /// `suffix` (`work` for a tokenising run's scatter folder).
    public static func temporaryPath(for destination: String, suffix: String = "partial") -> String {
        let (folder, name) = FileIO.folderAndName(of: destination)
        let random = Hex.encode((try? SecureRandom.bytes(6)) ?? [0, 0, 0, 0, 0, 0])
        return "\(folder)/.\(name).\(random).\(suffix)"
    }

    /// Appends bytes (buffered).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends bytes (buffered).
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends UTF-8 text.
    public func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    /// Writes bytes at an absolute offset, bypassing the append buffer (which is flushed first).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        try flush()
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let count = pwrite(descriptor, rest.baseAddress, rest.count, off_t(offset + done))
            if count < 0 {
                if errno == EINTR { continue }
                throw FileIO.ioError("cannot write", temporaryPath)
            }
            done += count
        }
    }

    /// Makes the file at least `length` bytes long; bytes not yet written read as zeros.
    public func extend(to length: Int) throws {
        try flush()
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileIO.ioError("cannot read", temporaryPath) }
        guard Int(info.st_size) < length else { return }
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw FileIO.ioError("cannot extend", temporaryPath) }
    }

    /// Pushes buffered bytes to the file.
    public func flush() throws {
        try FileIO.writeAll(buffer, to: descriptor, path: temporaryPath)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the file into place.
    public func commit() throws {
        try flush()
        guard fsync(descriptor) == 0 else { throw FileIO.ioError("cannot sync", temporaryPath) }
        // Renamed while still open, so its lock holds until the file has its final name.
        defer {
            close(descriptor)
            descriptor = -1
        }
        guard rename(temporaryPath, destination) == 0 else {
            let error = FileIO.ioError("cannot rename into place as \(destination)", temporaryPath)
            unlink(temporaryPath)
            throw error
        }
        committed = true
    }

    /// Deletes the temporary file; the destination is untouched.
    public func abandon() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        if !committed { unlink(temporaryPath) }
        committed = true
    }

    /// The descriptor, for reading back what was written (e.g. to digest it).
    public var fileDescriptor: Int32 { descriptor }
}

/// Temporary files that a killed run left beside a destination (SPEC §6.8): `.NAME.XXXXXXXXXXXX.partial` files and
/// `.NAME.XXXXXXXXXXXX.work` folders for the same NAME. A writer holds an exclusive `flock` on each from the moment
/// it creates it until it is renamed or removed, so one whose lock can be taken, and that is old enough not to be
/// in the instant between its creation and its lock, belongs to no running process.
public enum StaleTemporaryFiles {
    /// Removes those beside `destination` at least `minimumAge` seconds old whose lock is free, and returns their
    /// paths. Anything it cannot read or lock is left alone.
    @discardableResult
    public static func sweep(besides destination: String, minimumAge: Double = 10) -> [String] {
        let (folder, name) = FileIO.folderAndName(of: destination)
        let candidates = FileIO.entries(of: folder).filter { isTemporary($0, of: name) }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var removed: [String] = []
        for candidate in candidates.sorted() {
            let path = "\(folder)/\(candidate)"
            var info = stat()
            guard lstat(path, &info) == 0, info.st_uid == geteuid(),
                Double(now.tv_sec - info.st_mtim.tv_sec) >= minimumAge
            else { continue }
            let isFolder = candidate.hasSuffix(".work")
            guard isFolder ? (info.st_mode & S_IFMT) == S_IFDIR : (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (isFolder ? O_DIRECTORY : 0))
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            if isFolder {
                removeFiles(in: path)
                if rmdir(path) == 0 { removed.append(path) }
            } else if unlink(path) == 0 {
                removed.append(path)
            }
        }
        return removed
    }

    /// `.NAME.` + 12 hex digits + `.partial` or `.work`.
    static func isTemporary(_ entry: String, of name: String) -> Bool {
        let prefix = ".\(name)."
        for suffix in [".partial", ".work"] where entry.hasPrefix(prefix) && entry.hasSuffix(suffix) {
            let middle = entry.dropFirst(prefix.count).dropLast(suffix.count)
            return middle.count == 12 && middle.allSatisfy(\.isHexDigit)
        }
        return false
    }

    /// The regular files directly inside a `.work` folder (its bucket files).
    private static func removeFiles(in folder: String) {
        for name in FileIO.entries(of: folder) {
            var info = stat()
            let path = "\(folder)/\(name)"
            if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { unlink(path) }
        }
    }
}
