import Foundation
import Spawn

/// A `mercato` subcommand started by the benchmark (server under test, inventory or tax service).
public final class ServerProcess: Sendable {
    let process: ChildProcess
    let output: URL
    /// The subcommand, for messages.
    let name: String

    /// Starts `executable arguments` with `environment` on top of a cleaned copy of ours: settings that
    /// would change the architecture under test (database, Redis, flags) are only what the caller gives.
    public init(executable: URL, arguments: [String], environment: [String: String], logDirectory: URL, name: String) throws {
        output = logDirectory.appendingPathComponent("\(name).log")
        self.name = arguments.first ?? executable.lastPathComponent
        var env = ProcessInfo.processInfo.environment
        for key in Self.architectureKeys { env.removeValue(forKey: key) }
        env["LOG_LEVEL"] = env["LOG_LEVEL"] ?? "warning"
        env.merge(environment) { $1 }
        process = try ChildProcess.spawn(executable: executable.path, arguments: arguments, environment: env, stdout: output.path)
    }

    static let architectureKeys = [
        "DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "MERCATO_REDIS_PREFIX", "INVENTORY_URL", "TAX_URL", "MERCATO_CACHE", "MERCATO_CHECKOUT",
        "MERCATO_ENV", "MERCATO_PORT", "MERCATO_HOST", "MERCATO_DATA_DIR", "MERCATO_SEED_DEMO",
    ]

    /// The first output line containing `marker`, waiting up to `timeout`.
    public func line(containing marker: String, timeout: Duration = .seconds(300)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            guard process.isRunning else { throw BenchError.target("\(name) exited: \(text.suffix(2000))") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError.target("no '\(marker)' from \(name) within \(timeout)")
    }

    /// The `http://host:port` on the line containing `marker`.
    public func url(readyLine marker: String) async throws -> String {
        let line = try await line(containing: marker)
        guard let range = line.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression) else { throw BenchError.target("no URL in '\(line)'") }
        return String(line[range])
    }

    /// The text after `marker` in the output so far (e.g. the demo admin token), if it was printed.
    public func value(after marker: String) -> String? {
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) else { return nil }
        return line.components(separatedBy: marker).last?.trimmingCharacters(in: .whitespaces)
    }

    public func stop() {
        process.terminateAndWait()
    }

    /// This program's own executable, to start its subcommands.
    public static func ownExecutable() -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }
}

/// A `mercato serve` started for a run, with its demo admin token.
public struct StartedServer: Sendable {
    public var url: String
    public var adminToken: String?
    public var processes: [ServerProcess]

    public func stop() {
        for process in processes.reversed() { process.stop() }
    }

    /// Starts `mercato serve` on a free loopback port; embedded SQLite in `dataDirectory` unless
    /// `environment` names a database. With `serviceLatency`, inventory and tax run as their own
    /// processes with that injected latency (e.g. `120ms..200ms`).
    public static func start(
        executable: URL = ServerProcess.ownExecutable(), dataDirectory: URL, environment: [String: String], serviceLatency: String?, name: String
    ) async throws -> StartedServer {
        var processes: [ServerProcess] = []
        do {
            var env = environment
            if let latency = serviceLatency {
                let tax = try ServerProcess(
                    executable: executable, arguments: ["tax-service", "--port", "0", "--latency", latency], environment: [:],
                    logDirectory: dataDirectory, name: "\(name)-tax")
                processes.append(tax)
                env["TAX_URL"] = try await tax.url(readyLine: "tax service on")
                var inventoryArguments = ["inventory-service", "--port", "0", "--latency", latency]
                if environment["DATABASE_URL"] == nil { inventoryArguments += ["--data-dir", dataDirectory.path] }
                // Same database and Redis keyspace as the server: its stock changes must reach the server's cache.
                let inventory = try ServerProcess(
                    executable: executable, arguments: inventoryArguments,
                    environment: environment.filter { ["DATABASE_URL", "REDIS_URL", "MERCATO_REDIS_PREFIX", "MERCATO_EDGE_PURGE_URLS"].contains($0.key) },
                    logDirectory: dataDirectory, name: "\(name)-inventory")
                processes.append(inventory)
                env["INVENTORY_URL"] = try await inventory.url(readyLine: "inventory service on")
            }
            let server = try ServerProcess(
                executable: executable, arguments: ["serve", "--port", "0", "--data-dir", dataDirectory.path, "--seed-demo", "always"],
                environment: env, logDirectory: dataDirectory, name: name)
            processes.append(server)
            let url = try await server.url(readyLine: "Mercato is serving on")
            let token = server.value(after: "demo admin token:")
            return StartedServer(url: url, adminToken: token?.isEmpty == false ? token : nil, processes: processes)
        } catch {
            for process in processes.reversed() { process.stop() }
            throw error
        }
    }
}
