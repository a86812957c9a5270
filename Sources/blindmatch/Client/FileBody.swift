import BlindmatchProtocol
import Glibc
import NIOCore
import Synchronization

/// A file sent as a request body in 1 MiB chunks, read from disk as the connection takes them, so that a token file
/// of any size is uploaded in constant memory. It hashes what it sends (SHA-256), so the caller can check the digest
/// the server records against the bytes that left this machine, and shows progress on a terminal.
///
/// Use one instance for one request: it reads the file once, from the start. It sends exactly the ``size`` found
/// when it was opened; a file that gets shorter meanwhile fails the request.
final class FileBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    /// The size of each chunk read and sent.
    static let chunkSize = 1 << 20

    /// The file's path, for messages.
    let path: String
    /// The number of bytes sent: the file's size when opened.
    let size: Int
    private let state: Mutex<State>
    private let progress: Progress

    private struct State {
        var descriptor: Int32
        var offset = 0
        var hasher = SHA256Hasher()
        var digest: [UInt8]?
    }

    /// Opens a regular file for sending.
    init(path: String, progressLabel: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ClientError(.invalidArgument, "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw ClientError(.invalidArgument, "\(path): not a regular file")
        }
        self.path = path
        self.size = Int(info.st_size)
        self.state = Mutex(State(descriptor: descriptor))
        self.progress = Progress(label: progressLabel, totalBytes: Int(info.st_size))
    }

    deinit {
        state.withLock { state in
            if state.descriptor >= 0 { close(state.descriptor) }
        }
    }

    /// The SHA-256 of the bytes sent, in hex, once every byte has been read; nil before.
    var sha256: String? {
        state.withLock { $0.digest.map { Hex.encode($0) } }
    }

    /// Clears the progress line.
    func finishProgress() { progress.finish() }

    /// The next chunk, or nil after the last byte.
    private func nextChunk() throws -> ByteBuffer? {
        let chunk: ByteBuffer? = try state.withLock { state in
            guard state.offset < size else {
                if state.digest == nil { state.digest = state.hasher.finalize() }
                return nil
            }
            let length = Swift.min(Self.chunkSize, size - state.offset)
            var buffer = ByteBufferAllocator().buffer(capacity: length)
            while buffer.readableBytes < length {
                let offset = state.offset + buffer.readableBytes
                let wanted = length - buffer.readableBytes
                let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { target in
                    pread(state.descriptor, target.baseAddress, wanted, off_t(offset))
                }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    throw ClientError(
                        .invalidArgument,
                        count < 0
                            ? "\(path): cannot read: \(String(cString: strerror(errno)))"
                            : "\(path): the file got shorter while it was being sent")
                }
            }
            buffer.withUnsafeReadableBytes { state.hasher.update($0) }
            state.offset += length
            return buffer
        }
        progress.fraction(Double(state.withLock { $0.offset }) / Double(Swift.max(size, 1)))
        return chunk
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: FileBody

        mutating func next() async throws -> ByteBuffer? { try body.nextChunk() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
}
