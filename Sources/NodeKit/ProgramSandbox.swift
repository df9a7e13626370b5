/// Confines the programs nodes run (`--sandbox`) with bubblewrap: the whole file system
/// read-only, a private /tmp, only the node's scratch folder writable, no network, no view
/// of other processes. What a program of a stranger's workflow can then do is read files.
public struct ProgramSandbox: Sendable, Equatable {
    /// The `bwrap` executable.
    public let bubblewrap: String

    public init(bubblewrap: String) {
        self.bubblewrap = bubblewrap
    }

    /// The command line that runs `executable` with `arguments` inside the sandbox, `writable`
    /// the one folder it may write (and its working directory).
    public func wrap(_ executable: String, _ arguments: [String], writable: String) -> (String, [String]) {
        let confinement = [
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--bind", writable, writable, "--chdir", writable,
            "--unshare-all", "--die-with-parent", "--new-session", "--",
        ]
        return (bubblewrap, confinement + [executable] + arguments)
    }
}
