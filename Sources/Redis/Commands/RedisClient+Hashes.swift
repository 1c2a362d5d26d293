import NIOCore

extension RedisClient {
    /// `HGET key field`; nil when the key or field does not exist.
    public func hget(_ key: some RedisArgumentConvertible, field: some RedisArgumentConvertible) async throws -> ByteBuffer? {
        try await self.send(RedisCommand(["HGET", key, field])).optionalBufferReply(for: "HGET")
    }

    /// `HSET key field value [field value ...]`; returns how many fields were new.
    @discardableResult
    public func hset(_ key: some RedisArgumentConvertible, fields: [String: any RedisArgumentConvertible]) async throws -> Int {
        guard !fields.isEmpty else { throw RedisError.invalidArgument("HSET needs at least one field") }
        var arguments: [any RedisArgumentConvertible] = ["HSET", key]
        for (field, value) in fields {
            arguments.append(field)
            arguments.append(value)
        }
        return try await self.send(RedisCommand(arguments)).integerReply(for: "HSET")
    }

    /// `HMGET key field...`; one entry per field, nil for missing fields.
    public func hmget(_ key: some RedisArgumentConvertible, fields: [any RedisArgumentConvertible]) async throws -> [ByteBuffer?] {
        guard !fields.isEmpty else { return [] }
        return try await self.send(RedisCommand(["HMGET", key] + fields)).optionalBufferArrayReply(for: "HMGET")
    }

    /// `HDEL key field...`; returns how many fields existed.
    @discardableResult
    public func hdel(_ key: some RedisArgumentConvertible, fields: [any RedisArgumentConvertible]) async throws -> Int {
        guard !fields.isEmpty else { return 0 }
        return try await self.send(RedisCommand(["HDEL", key] + fields)).integerReply(for: "HDEL")
    }

    /// `HGETALL key`; empty when the key does not exist.
    public func hgetall(_ key: some RedisArgumentConvertible) async throws -> [String: ByteBuffer] {
        try await self.send(RedisCommand(["HGETALL", key])).hashReply(for: "HGETALL")
    }
}
