import Foundation

/// A PostgreSQL streaming replica owned by one test (scripts/postgres.sh replica: `pg_basebackup -R` from a
/// primary started with `PG_REPLICATION=1`), so the test can kill it like a crash and start it again.
public struct OwnedPostgresReplica: Sendable {
    public let port: Int
    public let directory: String
    let primaryPort: Int

    /// A new replica of the primary at `primaryURL` (a `postgres://…@127.0.0.1:PORT/…` URL), on a free loopback port.
    public static func start(primaryURL: String) async throws -> OwnedPostgresReplica {
        guard let primaryPort = URLComponents(string: primaryURL)?.port else { throw TestServerError("no port in \(primaryURL)") }
        return try await ScriptRunner.onFreePort(attempts: 3) { port in
            // A short path: the unix socket path (DIR/run/.s.PGSQL.PORT) is limited to 107 bytes.
            let replica = OwnedPostgresReplica(port: port, directory: "/tmp/mercato-replica-\(UUID().uuidString.prefix(8))", primaryPort: primaryPort)
            do {
                try await replica.start()
                return replica
            } catch {
                await replica.destroy()
                throw error
            }
        }
    }

    public var url: String { "postgres://postgres@127.0.0.1:\(self.port)/mercato" }

    /// Starts the replica (the first time, after copying the primary), or starts it again after `kill()`.
    public func start() async throws {
        let output = try await ScriptRunner.run("postgres.sh", ["replica", self.directory, String(self.port), String(self.primaryPort)])
        guard output.split(separator: "\n").last.map(String.init) == self.url else { throw TestServerError("scripts/postgres.sh did not report \(self.url): \(output)") }
    }

    /// Immediate shutdown: connections drop and the port refuses new ones, as after a crash.
    public func kill() async throws {
        _ = try await ScriptRunner.run("postgres.sh", ["kill", self.directory])
    }

    /// Stops the replica and deletes its directory.
    public func destroy() async {
        _ = try? await ScriptRunner.run("postgres.sh", ["kill", self.directory])
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
