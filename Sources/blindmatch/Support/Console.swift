import Glibc

/// Writes to standard output and standard error without buffering surprises.
enum Console {
    static func error(_ text: String) { write(text, to: STDERR_FILENO) }

    static func output(_ text: String) { write(text, to: STDOUT_FILENO) }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                let rest = UnsafeMutableRawBufferPointer(rebasing: $0[done...])
                return Glibc.write(descriptor, rest.baseAddress, rest.count)
            }
            if count <= 0 { return }
            done += count
        }
        bytes.removeAll()
    }
}
