extension RedisConnection {
    /// Authenticates, names and selects; returns whether RESP3 is in use.
    ///
    /// `HELLO 3` does AUTH and SETNAME in one round trip. Servers older than Redis 6 reply
    /// with an unknown-command error; they get the RESP2 sequence instead. Credential errors
    /// from HELLO are final, since repeating them with AUTH would fail the same way.
    func handshake(_ configuration: RedisConfiguration) async throws -> Bool {
        var isRESP3 = false
        if configuration.useRESP3 {
            var hello: [any RedisArgumentConvertible] = ["HELLO", 3]
            if let password = configuration.password {
                hello += ["AUTH", configuration.username ?? "default", password]
            }
            if let name = configuration.clientName {
                hello += ["SETNAME", name]
            }
            let reply = try await self.sendRaw(RedisCommand(hello)).get()
            if case .error(let message) = reply {
                if message.hasPrefix("WRONGPASS") || message.hasPrefix("NOAUTH") || message.hasPrefix("NOPERM") {
                    throw RedisError.server(message)
                }
            } else {
                isRESP3 = true
            }
        }
        if !isRESP3 {
            if let password = configuration.password {
                var auth: [any RedisArgumentConvertible] = ["AUTH"]
                if let username = configuration.username { auth.append(username) }
                auth.append(password)
                _ = try await self.send(RedisCommand(auth))
            }
            if let name = configuration.clientName {
                _ = try await self.send(RedisCommand(["CLIENT", "SETNAME", name]))
            }
        }
        if configuration.database != 0 {
            _ = try await self.send(RedisCommand(["SELECT", configuration.database]))
        }
        return isRESP3
    }
}
