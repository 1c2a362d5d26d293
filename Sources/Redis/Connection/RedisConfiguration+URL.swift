extension RedisConfiguration {
    /// Parses `redis://[[user]:password@]host[:port][/db]`; other settings keep their defaults.
    public init(url: String) throws(RedisError) {
        guard url.hasPrefix("redis://") else { throw .invalidURL("\(url) (expected the redis:// scheme)") }
        var rest = Substring(url.dropFirst("redis://".count))

        var username: String?
        var password: String?
        // The last '@' separates credentials, so passwords may contain an escaped or literal '@'.
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try Self.percentDecoded(user, in: url)
                password = try Self.percentDecoded(credentials[credentials.index(after: colon)...], in: url)
            } else if !credentials.isEmpty {
                // redis://secret@host is the historical form for a password without a user.
                password = try Self.percentDecoded(credentials, in: url)
            }
        }

        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else { throw .invalidURL("\(url) (database must be a number)") }
                database = number
            }
        }

        var host = rest
        var port = 6379
        if rest.hasPrefix("[") {
            // IPv6 literal: [::1]:6379
            guard let close = rest.firstIndex(of: "]") else { throw .invalidURL("\(url) (unterminated IPv6 address)") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { throw .invalidURL("\(url) (invalid port)") }
                port = number
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let number = Int(rest[rest.index(after: colon)...]) else { throw .invalidURL("\(url) (invalid port)") }
            port = number
        }
        guard !host.isEmpty else { throw .invalidURL("\(url) (missing host)") }
        guard (1...65535).contains(port) else { throw .invalidURL("\(url) (port out of range)") }

        self.init(host: String(host), port: port, username: username, password: password, database: database)
    }

    private static func percentDecoded(_ text: Substring, in url: String) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                throw .invalidURL("\(url) (invalid percent escape)")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
