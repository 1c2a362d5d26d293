import NIOCore
import DequeModule

/// A task waiting for a connection; resumed with one, or with nil to decide again.
struct PoolWaiter {
    let id: UInt64
    let continuation: CheckedContinuation<RedisConnection?, any Error>
    var timer: Scheduled<Void>?
}

/// The pool's bookkeeping, kept free of I/O so each transition is one short critical section.
struct PoolState {
    enum LeaseAction {
        case use(RedisConnection)
        case connect
        case wait
        case fail(RedisError)
    }

    enum ReleaseAction {
        case none
        case close
        case handOver(PoolWaiter)
        case wake(PoolWaiter)
    }

    let maximumConnections: Int
    /// Open connections plus connects in flight, leased or idle.
    var connectionCount = 0
    private(set) var isClosed = false
    private var idle: [RedisConnection] = []
    /// First come, first served: a deque, so serving the oldest waiter is O(1).
    private var waiters: Deque<PoolWaiter> = []
    private var nextWaiterID: UInt64 = 0
    private var consecutiveFailures = 0
    private var retryAfter = NIODeadline.uptimeNanoseconds(0)
    /// One connect at a time probes a server that has been failing.
    private var isProbing = false
    private var lastError: RedisError?

    init(maximumConnections: Int) {
        self.maximumConnections = maximumConnections
    }

    mutating func nextLeaseAction(now: NIODeadline) -> LeaseAction {
        if self.isClosed { return .fail(.clientClosed) }
        // Most recently used first: it is the one most likely to still be alive.
        while let connection = self.idle.popLast() {
            if !connection.isClosed { return .use(connection) }
            self.connectionCount -= 1
        }
        guard self.connectionCount < self.maximumConnections else { return .wait }
        if self.consecutiveFailures > 0 {
            if self.isProbing || now < self.retryAfter {
                return .fail(self.lastError ?? .connectionClosed)
            }
            self.isProbing = true
        }
        self.connectionCount += 1
        return .connect
    }

    mutating func release(_ connection: RedisConnection, isAlive: Bool) -> ReleaseAction {
        if self.isClosed {
            self.connectionCount -= 1
            return .close
        }
        guard isAlive else {
            self.connectionCount -= 1
            return self.waiters.popFirst().map { .wake($0) } ?? .none
        }
        if let waiter = self.waiters.popFirst() {
            return .handOver(waiter)
        }
        self.idle.append(connection)
        return .none
    }

    /// Returns whether the pool was recovering from failures.
    mutating func connectSucceeded() -> Bool {
        let wasRecovering = self.consecutiveFailures > 0
        self.consecutiveFailures = 0
        self.isProbing = false
        self.lastError = nil
        return wasRecovering
    }

    mutating func connectFailed(error: RedisError, now: NIODeadline, configuration: RedisConfiguration) -> [PoolWaiter] {
        self.connectionCount -= 1
        self.consecutiveFailures += 1
        self.isProbing = false
        self.lastError = error
        self.retryAfter = now + TimeAmount(configuration.reconnectDelay(attempt: self.consecutiveFailures))
        let woken = Array(self.waiters)
        self.waiters.removeAll()
        return woken
    }

    mutating func makeWaiterID() -> UInt64 {
        self.nextWaiterID += 1
        return self.nextWaiterID
    }

    /// Returns false when the pool is closed and the waiter was not enqueued.
    mutating func enqueue(_ waiter: PoolWaiter) -> Bool {
        guard !self.isClosed else { return false }
        self.waiters.append(waiter)
        return true
    }

    /// Returns false when the waiter is already gone (served, timed out or cancelled).
    mutating func attach(_ timer: Scheduled<Void>, toWaiter id: UInt64) -> Bool {
        guard let index = self.waiters.firstIndex(where: { $0.id == id }) else { return false }
        self.waiters[index].timer = timer
        return true
    }

    mutating func removeWaiter(_ id: UInt64) -> PoolWaiter? {
        guard let index = self.waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return self.waiters.remove(at: index)
    }

    mutating func close() -> (idle: [RedisConnection], waiters: [PoolWaiter]) {
        self.isClosed = true
        let result = (self.idle, Array(self.waiters))
        self.connectionCount -= self.idle.count
        self.idle.removeAll()
        self.waiters.removeAll()
        return result
    }
}
