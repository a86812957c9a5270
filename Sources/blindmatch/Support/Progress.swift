import Glibc
import Synchronization

/// A one-line progress display on standard error: records done, rate, and time left. Silent unless standard
/// error is a terminal, so piped and logged runs stay clean. Safe to call from worker threads.
final class Progress: Sendable {
    private let label: String
    private let totalBytes: Int?
    private let enabled: Bool
    private let start = Clock.now()
    private let lastDrawn = Mutex(0.0)

    /// True when it is time to redraw (at most five times a second).
    private func due(_ elapsed: Double) -> Bool {
        lastDrawn.withLock { last in
            guard elapsed - last >= 0.2 else { return false }
            last = elapsed
            return true
        }
    }

    init(label: String, totalBytes: Int?) {
        self.label = label
        self.totalBytes = totalBytes
        enabled = isatty(STDERR_FILENO) == 1 && getenv("CI") == nil
    }

    func update(records: Int, bytes: Int) {
        guard enabled else { return }
        let elapsed = Clock.now() - start
        guard due(elapsed) else { return }
        let rate = Double(records) / max(elapsed, 1e-9)
        var line = "\r\(label): \(Format.count(records)) records, \(Format.count(Int(rate)))/s"
        if let totalBytes, totalBytes > 0, bytes > 0 {
            let remaining = elapsed * Double(totalBytes - bytes) / Double(bytes)
            line +=
                ", \(Format.percent(Double(bytes) / Double(totalBytes))) done, about \(Format.duration(remaining)) left"
        }
        Console.error(line + "\u{1B}[K")
    }

    /// Shows the fraction done of a job counted in steps rather than records.
    func fraction(_ done: Double) {
        guard enabled else { return }
        let elapsed = Clock.now() - start
        guard done > 0, due(elapsed) else { return }
        let remaining = elapsed * (1 - done) / done
        Console.error("\r\(label): \(Format.percent(done)) done, about \(Format.duration(remaining)) left\u{1B}[K")
    }

    /// Shows a line of text after the label (a stage, a state), redrawn in place.
    func show(_ text: String) {
        guard enabled, due(Clock.now() - start) else { return }
        Console.error("\r\(label): \(text)\u{1B}[K")
    }

    func finish() {
        guard enabled else { return }
        Console.error("\r\u{1B}[K")
    }
}

enum Clock {
    /// Monotonic seconds.
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

enum Format {
    static func count(_ value: Int) -> String {
        let digits = String(value)
        var output = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 && character != "-" { output.append(",") }
            output.append(character)
        }
        return output
    }

    static func percent(_ fraction: Double) -> String {
        "\(Int((fraction * 100).rounded()))%"
    }

    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < places { text += String(repeating: "0", count: places - decimals) }
        } else if places > 0 {
            text += "." + String(repeating: "0", count: places)
        }
        return text
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 60 ? "\(total / 60)m\(String(format2: total % 60))s" : "\(total)s"
    }
}

extension String {
    init(format2 value: Int) {
        self = value < 10 ? "0\(value)" : String(value)
    }
}
