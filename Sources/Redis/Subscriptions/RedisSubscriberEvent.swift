import NIOCore

/// What a `RedisSubscriber` delivers.
public enum RedisSubscriberEvent: Sendable, Hashable {
    /// The first time all channels and patterns are subscribed.
    case subscribed
    /// A message published to a subscribed channel (or one matching a pattern).
    case message(RedisPubSubMessage)
    /// Subscribed again after the connection dropped. Messages published while it was down are
    /// lost, so anything derived from them (e.g. cache entries) should be considered stale.
    case reconnected
    /// The subscribed connection was lost; `.reconnected` follows once it is back. Until then nothing
    /// published arrives, so whatever relies on hearing every message must not trust what it holds.
    case disconnected
}

/// One published message.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published to.
    public var channel: String
    /// The message bytes, exactly as published.
    public var payload: ByteBuffer
    /// The pattern that matched, for messages received through `PSUBSCRIBE`.
    public var pattern: String?

    public init(channel: String, payload: ByteBuffer, pattern: String? = nil) {
        self.channel = channel
        self.payload = payload
        self.pattern = pattern
    }
}
