import Glibc

/// Seconds on the monotonic clock, for durations.
public enum MonotonicClock {
    /// Monotonic seconds since an arbitrary start.
    public static func seconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
