import NIOCore

/// Whether `SET` should only create or only replace a key.
public enum RedisSetCondition: Sendable, Hashable {
    case always
    /// `NX`: only if the key does not exist yet.
    case ifNotExists
    /// `XX`: only if the key already exists.
    case ifExists
}

extension RedisClient {
    /// `GET key`; nil when the key does not exist.
    public func get(_ key: some RedisArgumentConvertible) async throws -> ByteBuffer? {
        try await self.send(RedisCommand(["GET", key])).optionalBufferReply(for: "GET")
    }

    /// `SET key value [EX s | PX ms] [NX | XX]`; returns false when the condition prevented the write.
    ///
    /// Whole-second expirations use `EX`, anything finer `PX`.
    @discardableResult
    public func set(
        _ key: some RedisArgumentConvertible,
        to value: some RedisArgumentConvertible,
        expiration: Duration? = nil,
        condition: RedisSetCondition = .always
    ) async throws -> Bool {
        var arguments: [any RedisArgumentConvertible] = ["SET", key, value]
        if let expiration {
            let milliseconds = Int(expiration.components.seconds) * 1000 + Int(expiration.components.attoseconds / 1_000_000_000_000_000)
            guard milliseconds > 0 else { throw RedisError.invalidArgument("SET expiration must be at least 1 ms, got \(expiration)") }
            if milliseconds.isMultiple(of: 1000) {
                arguments += ["EX", milliseconds / 1000]
            } else {
                arguments += ["PX", milliseconds]
            }
        }
        switch condition {
        case .always: break
        case .ifNotExists: arguments.append("NX")
        case .ifExists: arguments.append("XX")
        }
        return try await !self.send(RedisCommand(arguments)).isNull
    }

    /// `MGET key...`; one entry per key, nil for missing keys.
    public func mget(_ keys: [any RedisArgumentConvertible]) async throws -> [ByteBuffer?] {
        guard !keys.isEmpty else { return [] }
        return try await self.send(RedisCommand(["MGET"] + keys)).optionalBufferArrayReply(for: "MGET")
    }

    /// `DEL key...`; returns how many keys existed.
    @discardableResult
    public func del(_ keys: [any RedisArgumentConvertible]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await self.send(RedisCommand(["DEL"] + keys)).integerReply(for: "DEL")
    }

    /// `EXPIRE key seconds`; returns false when the key does not exist.
    @discardableResult
    public func expire(_ key: some RedisArgumentConvertible, seconds: Int) async throws -> Bool {
        try await self.send(RedisCommand(["EXPIRE", key, seconds])).integerReply(for: "EXPIRE") == 1
    }

    /// `INCR key`; returns the new value.
    @discardableResult
    public func incr(_ key: some RedisArgumentConvertible) async throws -> Int {
        try await self.send(RedisCommand(["INCR", key])).integerReply(for: "INCR")
    }
}
