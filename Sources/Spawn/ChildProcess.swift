import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why a child process could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
}

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)

    public var succeeded: Bool { self == .exited(0) }
}

/// A child process started with `posix_spawn`: the one launcher of the test servers and the benchmark.
///
/// Not Foundation's `Process`: it hands its blocked signal mask (SIGTERM, SIGINT, SIGQUIT included) down to
/// the child, so daemonized servers ignore the very signals that stop them, and its exit monitoring can miss
/// the child under the test runner. Here the child starts with an empty mask and default handlers, stdin
/// from /dev/null and output to files, not pipes: a daemon would inherit a pipe's write end and its reader
/// would never see end-of-file. The exit is polled (`WNOHANG`), so waiting holds no thread.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The program and its arguments, for messages.
    public let commandLine: String
    /// Set once the exit is reaped: the pid may then belong to another process and is never signalled again.
    private let ended = Mutex<ExitStatus?>(nil)

    init(pid: pid_t, commandLine: String) {
        self.pid = pid
        self.commandLine = commandLine
    }

    /// Starts `executable arguments`. `environment` nil inherits ours. `stderr` nil sends it where stdout goes;
    #if os(Linux)
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not import.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    private static func closeFrom(_ descriptor: Int32, in fileActions: inout posix_spawn_file_actions_t) {
        _ = addCloseFrom?(&fileActions, descriptor)
    }
    #endif

    /// `append` adds to the output files instead of truncating them.
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String]? = nil, stdout: String, stderr: String? = nil, append: Bool = false
    ) throws -> ChildProcess {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        let mode = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, stdout, mode, 0o644)
        if let stderr {
            posix_spawn_file_actions_addopen(&fileActions, 2, stderr, mode, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        }
        #if os(Linux)
        // Nothing but 0-2 reaches the child: a socket this process holds at that moment (another test's
        // listener, a port being probed) would otherwise stay bound in the child and in every server it
        // daemonizes, and a later server on that port fails with "address already in use".
        Self.closeFrom(3, in: &fileActions)
        #endif

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid = pid_t()
        let spawned = envp.map { envp in posix_spawn(&pid, executable, &fileActions, &attributes, argv, envp) }
            ?? posix_spawn(&pid, executable, &fileActions, &attributes, argv, environ)
        let commandLine = ([executable] + arguments).joined(separator: " ")
        guard spawned == 0 else { throw SpawnError(description: "could not start \(commandLine): errno \(spawned)") }
        return ChildProcess(pid: pid, commandLine: commandLine)
    }

    /// How the process ended, or nil while it runs. Reaps it: ask until it answers, then not again.
    public func exitStatus() throws -> ExitStatus? {
        try ended.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            while true {
                let result = waitpid(pid, &status, WNOHANG)
                if result == 0 { return nil }
                if result == pid {
                    ended = Self.decode(status)
                    return ended
                }
                if errno != EINTR { throw SpawnError(description: "waitpid for \(commandLine) failed: errno \(errno)") }
            }
        }
    }

    public var isRunning: Bool { (try? exitStatus()) == nil }

    /// Waits for the exit, checking every `interval` without holding a thread. Not cancellable: a caller that
    /// started a script must see it finish, or a half-started server would outlive it.
    public func exit(checkingEvery interval: Duration = .milliseconds(20)) async throws -> ExitStatus {
        while true {
            if let status = try exitStatus() { return status }
            try? await Task.sleep(for: interval)
        }
    }

    /// Sends SIGTERM and waits for the exit (blocking: for shutdown paths that cannot suspend).
    public func terminateAndWait() {
        ended.withLock { ended in
            guard ended == nil else { return }
            kill(pid, SIGTERM)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            ended = Self.decode(status)
        }
    }

    /// WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as functions.
    static func decode(_ status: Int32) -> ExitStatus {
        status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
    }
}
