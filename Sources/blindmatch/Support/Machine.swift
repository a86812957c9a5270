import Glibc

enum Machine {
    /// Cores available to this process.
    static var cores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
