import Metrics
import Synchronization

/// Kinds of calls checkout makes to other services.
public enum ExternalCall: Int, Sendable, CaseIterable {
    case availability, reserve, commit, release, tax

    /// Whether the call goes to the inventory service (all but tax).
    public var isInventory: Bool { self != .tax }
}

/// How an external call ended.
public enum ExternalCallOutcome: String, Sendable {
    /// Answered as asked.
    case ok
    /// Answered with a refusal the caller expects (short stock, expired reservation, unknown country).
    case refused
    /// Not reached, timed out or 5xx, after retries.
    case unavailable
    /// Rejected our request or answered something unreadable.
    case failed
}

extension ExternalCall {
    /// The service the call goes to.
    public var service: String { isInventory ? "inventory" : "tax" }
    public var name: String {
        switch self {
        case .availability: "availability"
        case .reserve: "reserve"
        case .commit: "commit"
        case .release: "release"
        case .tax: "quote"
        }
    }
}

/// Counts one request's external calls by kind (task local, reported in response headers; the bench gate
/// reads them). The process-wide counts are `ExternalCallMetrics`.
public final class ExternalCallCounter: Sendable {
    private let availability = Atomic<Int>(0)
    private let reserve = Atomic<Int>(0)
    private let commit = Atomic<Int>(0)
    private let release = Atomic<Int>(0)
    private let tax_ = Atomic<Int>(0)

    public init() {}

    /// The counter of the request being served, if any.
    @TaskLocal public static var current: ExternalCallCounter?

    public func record(_ call: ExternalCall) {
        switch call {
        case .availability: availability.add(1, ordering: .relaxed)
        case .reserve: reserve.add(1, ordering: .relaxed)
        case .commit: commit.add(1, ordering: .relaxed)
        case .release: release.add(1, ordering: .relaxed)
        case .tax: tax_.add(1, ordering: .relaxed)
        }
    }

    public func count(_ call: ExternalCall) -> Int {
        switch call {
        case .availability: availability.load(ordering: .relaxed)
        case .reserve: reserve.load(ordering: .relaxed)
        case .commit: commit.load(ordering: .relaxed)
        case .release: release.load(ordering: .relaxed)
        case .tax: tax_.load(ordering: .relaxed)
        }
    }

    /// Calls to the inventory service, all kinds.
    public var inventory: Int { ExternalCall.allCases.filter(\.isInventory).reduce(0) { $0 + count($1) } }
    public var tax: Int { count(.tax) }
}

/// External calls since start, through swift-metrics: `mercato_external_calls_total{service,operation}` and
/// `mercato_external_call_duration_seconds{service,operation,outcome}`.
struct ExternalCallMetrics: Sendable {
    /// Indexed by `ExternalCall.rawValue`.
    let calls: [Counter]
    private let factory: any MetricsFactory

    init(factory: any MetricsFactory) {
        self.factory = factory
        calls = ExternalCall.allCases.map { call in
            Counter(label: "mercato_external_calls_total", dimensions: [("service", call.service), ("operation", call.name)], factory: factory)
        }
    }

    /// The duration of one call by how it ended. The timer is looked up per call (20 label sets): a call
    /// crosses the network, a registry lookup is nothing beside it.
    func record(_ call: ExternalCall, _ outcome: ExternalCallOutcome, since started: ContinuousClock.Instant) {
        Timer(
            label: "mercato_external_call_duration_seconds",
            dimensions: [("service", call.service), ("operation", call.name), ("outcome", outcome.rawValue)], factory: factory
        ).record(duration: ContinuousClock.now - started)
    }
}
