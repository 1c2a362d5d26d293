extension RedisClient {
    /// `PUBLISH channel message`; returns how many subscribers received it.
    @discardableResult
    public func publish(_ message: some RedisArgumentConvertible, to channel: String) async throws -> Int {
        try await self.send(RedisCommand(["PUBLISH", channel, message])).integerReply(for: "PUBLISH")
    }

    /// `PING`; returns `PONG`.
    @discardableResult
    public func ping() async throws -> String {
        try await self.send(RedisCommand(["PING"])).stringReply(for: "PING")
    }
}
