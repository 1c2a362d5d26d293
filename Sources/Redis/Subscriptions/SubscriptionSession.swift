import NIOCore
import Synchronization

/// Interprets what arrives on one subscriber connection, from SUBSCRIBE to disconnect.
///
/// Runs on the connection's event loop. Subscription confirmations are counted, and the
/// `.subscribed`/`.reconnected` event is yielded the moment the last one arrives, so every
/// message after it in the stream was received with all subscriptions in place.
final class SubscriptionSession: Sendable {
    /// Subscriptions not confirmed yet.
    private let pendingConfirmations: Mutex<Int>
    private let readyEvent: RedisSubscriberEvent
    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    private let onFailure: @Sendable () -> Void
    let confirmed: EventLoopPromise<Void>

    init(
        expectedConfirmations: Int,
        readyEvent: RedisSubscriberEvent,
        continuation: AsyncStream<RedisSubscriberEvent>.Continuation,
        confirmed: EventLoopPromise<Void>,
        onFailure: @escaping @Sendable () -> Void
    ) {
        self.pendingConfirmations = Mutex(expectedConfirmations)
        self.readyEvent = readyEvent
        self.continuation = continuation
        self.confirmed = confirmed
        self.onFailure = onFailure
    }

    func handle(_ value: RESPValue) {
        guard let items = value.array else {
            if case .error(let message) = value {
                // e.g. NOPERM for a channel: retrying would not help until the ACL changes,
                // but the run loop backs off, so it does not spin.
                self.confirmed.fail(RedisError.server(message))
                self.onFailure()
            }
            return
        }
        guard let kind = items.first?.string?.lowercased() else { return }
        switch kind {
        case "message" where items.count == 3:
            guard let channel = items[1].string, let payload = items[2].buffer else { return }
            self.continuation.yield(.message(RedisPubSubMessage(channel: channel, payload: payload)))
        case "pmessage" where items.count == 4:
            guard let pattern = items[1].string, let channel = items[2].string, let payload = items[3].buffer else { return }
            self.continuation.yield(.message(RedisPubSubMessage(channel: channel, payload: payload, pattern: pattern)))
        case "subscribe", "psubscribe":
            let isReady = self.pendingConfirmations.withLock { pending in
                pending -= 1
                return pending == 0
            }
            if isReady {
                self.continuation.yield(self.readyEvent)
                self.confirmed.succeed()
            }
        default:
            // unsubscribe confirmations, pong: nothing to do.
            break
        }
    }
}
