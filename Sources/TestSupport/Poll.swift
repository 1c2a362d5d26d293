/// The one way tests wait for something that happens elsewhere (another instance, a restarted server, a
/// replica): check, and check again, until it holds. The timeout only guards against a hang. A test asserts
/// that something happens; how fast it happens is a benchmark's to measure.
///
/// Returns how long it took until `condition` held, or nil when `timeout` passed first.
public func poll(
    every interval: Duration = .milliseconds(20), timeout: Duration, until condition: () async throws -> Bool
) async throws -> Duration? {
    let clock = ContinuousClock()
    let start = clock.now
    while true {
        if try await condition() { return clock.now - start }
        guard clock.now - start < timeout else { return nil }
        try await Task.sleep(for: interval)
    }
}

/// `what` did not happen within the timeout.
public struct PollTimeout: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public var description: String { "timed out after \(timeout): \(what)" }
}

/// Like `poll(every:timeout:until:)`, but a timeout is an error naming `what` was awaited.
public func poll(
    _ what: String, every interval: Duration = .milliseconds(20), timeout: Duration, until condition: () async throws -> Bool
) async throws {
    guard try await poll(every: interval, timeout: timeout, until: condition) != nil else { throw PollTimeout(what: what, timeout: timeout) }
}
