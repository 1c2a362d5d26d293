import Testing

@testable import Redis
@Suite("Configuration")
struct RedisConfigurationTests {
    @Test func parsesAFullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://cache-user:s%40cret:x@cache.local:6380/3")
        #expect(configuration.host == "cache.local")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "cache-user")
        #expect(configuration.password == "s@cret:x")
        #expect(configuration.database == 3)
    }

    @Test func appliesDefaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
        #expect(configuration.database == 0)
    }

    @Test func acceptsPasswordOnlyForms() throws {
        #expect(try RedisConfiguration(url: "redis://:pw@h:1/").password == "pw")
        #expect(try RedisConfiguration(url: "redis://:pw@h:1/").username == nil)
        #expect(try RedisConfiguration(url: "redis://pw@h").password == "pw")
    }

    @Test func parsesIPv6Literals() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:7000/1")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 7000)
        #expect(configuration.database == 1)
    }

    @Test(arguments: ["http://h:1", "redis://", "redis://h:port", "redis://h:70000", "redis://h/db", "redis://u:%zz@h", "redis://[::1"])
    func rejectsInvalidURLs(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func backoffDoublesUpToTheCap() {
        var configuration = RedisConfiguration()
        configuration.reconnectInitialDelay = .milliseconds(100)
        configuration.reconnectMaximumDelay = .milliseconds(700)
        #expect((1...6).map { configuration.reconnectDelay(attempt: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(700), .milliseconds(700), .milliseconds(700),
        ])
    }
}
