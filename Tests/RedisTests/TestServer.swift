import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import Redis
/// Where integration tests find Redis: `REDIS_URL`. Without it they are skipped, unless in CI
/// (`CI` set to 1, true, yes or on, as the scripts read it), where a missing server must fail the run
/// rather than pass silently.
enum TestServer {
    static let url = ProcessInfo.processInfo.environment["REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = ["1", "true", "yes", "on"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "")
    static let isEnabled = url != nil || isCI

    /// The configuration for `REDIS_URL`: timeouts short enough that a hang fails the test, long enough
    /// for a loaded CI machine (the whole suite runs in parallel; 50 tasks queue for 8 connections).
    static func configuration() throws -> RedisConfiguration {
        let url = try #require(Self.url, "REDIS_URL must point to a Redis server in CI (see scripts/redis.sh)")
        var configuration = try RedisConfiguration(url: url)
        configuration.commandTimeout = .seconds(10)
        configuration.connectTimeout = .seconds(5)
        configuration.connectionWaitTimeout = .seconds(30)
        return configuration
    }

    /// A prefix that keeps keys of concurrently running tests apart.
    static func uniqueKey(_ name: String) -> String {
        "redisclient-test:\(UUID().uuidString):\(name)"
    }
}

