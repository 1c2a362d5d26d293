import Metrics
import Synchronization

/// Counts SQL statements run on behalf of one request, or of one kind of background work; set as a task
/// local by whoever runs the work (the HTTP layer per request, `BackgroundStatements` per job).
public final class StatementCounter: Sendable {
    private let count = Atomic<Int>(0)
    /// Also counted here when set (background work goes straight to `/metrics`; a request's count is
    /// recorded per route when it ends).
    private let metric: Counter?

    public init(metric: Counter? = nil) {
        self.metric = metric
    }

    /// The task-local counter of the request or background job being run, if any.
    @TaskLocal public static var current: StatementCounter?

    public var value: Int { count.load(ordering: .relaxed) }

    /// Records one statement against the current request or job (no-op outside both).
    public static func record() {
        current?.increment()
    }

    public func increment() {
        count.add(1, ordering: .relaxed)
        metric?.increment()
    }
}

/// Work that runs outside any request. Its statements are counted under its own label, so what the
/// cache and the checkout do between requests shows in `/metrics` instead of in no figure at all.
public enum BackgroundWork: String, Sendable, CaseIterable {
    /// A storefront cache refresh (stale-while-revalidate, early refresh, a page whose order moved).
    case refresh
    /// The sales roll-up into bestselling counts.
    case rollup
    /// The sweep that releases expired reservations.
    case sweep
    /// The release of a reservation whose checkout failed after reserving.
    case release
    /// The replica lag probe.
    case probe
}

/// One statement counter per kind of background work, recording into
/// `mercato_db_background_statements_total{work=…}`.
public struct BackgroundStatements: Sendable {
    private let counters: [BackgroundWork: StatementCounter]

    /// Counters recording into `factory` (the server passes its Prometheus one).
    public init(factory: any MetricsFactory) {
        var counters: [BackgroundWork: StatementCounter] = [:]
        for work in BackgroundWork.allCases {
            counters[work] = StatementCounter(
                metric: Counter(label: Self.metricName, dimensions: [("work", work.rawValue)], factory: factory))
        }
        self.counters = counters
    }

    /// Counted nowhere (tests and tools that keep no metrics).
    public static let uncounted = BackgroundStatements(factory: NOOPMetricsHandler.instance)

    public static let metricName = "mercato_db_background_statements_total"

    /// The statements `work` ran so far on this instance.
    public func count(_ work: BackgroundWork) -> Int { counters[work]?.value ?? 0 }

    /// Runs `body` with its statements counted under `work`.
    public func run<T>(_ work: BackgroundWork, _ body: () async throws -> T) async rethrows -> T {
        try await StatementCounter.$current.withValue(counters[work]) { try await body() }
    }
}
