import Synchronization

/// Counts SQL statements run on behalf of one request; set as a task local by the HTTP layer.
public final class StatementCounter: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    /// The task-local counter of the request being served, if any.
    @TaskLocal public static var current: StatementCounter?

    public var value: Int { count.load(ordering: .relaxed) }

    /// Records one statement against the current request (no-op outside a request).
    public static func record() {
        current?.increment()
    }

    public func increment() {
        count.add(1, ordering: .relaxed)
    }
}
