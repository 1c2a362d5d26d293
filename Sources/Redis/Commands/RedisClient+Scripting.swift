extension RedisClient {
    /// `EVAL script numkeys key... arg...`; returns the script's reply as is.
    @discardableResult
    public func eval(
        _ script: String,
        keys: [any RedisArgumentConvertible] = [],
        arguments: [any RedisArgumentConvertible] = []
    ) async throws -> RESPValue {
        try await self.send(RedisCommand(["EVAL", script, keys.count] + keys + arguments))
    }

    /// `EVALSHA sha1 numkeys key... arg...`; throws `RedisError.server("NOSCRIPT ...")` when the
    /// script is not cached, so callers can fall back to `eval` or `scriptLoad`.
    @discardableResult
    public func evalsha(
        _ sha1: String,
        keys: [any RedisArgumentConvertible] = [],
        arguments: [any RedisArgumentConvertible] = []
    ) async throws -> RESPValue {
        try await self.send(RedisCommand(["EVALSHA", sha1, keys.count] + keys + arguments))
    }

    /// `SCRIPT LOAD script`; returns the SHA1 to use with `evalsha`.
    public func scriptLoad(_ script: String) async throws -> String {
        try await self.send(RedisCommand(["SCRIPT", "LOAD", script])).stringReply(for: "SCRIPT LOAD")
    }
}
