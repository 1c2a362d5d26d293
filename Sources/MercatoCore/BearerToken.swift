/// Reads `Authorization: Bearer <token>` headers.
public enum BearerToken {
    /// The token of a Bearer credential; the scheme is matched case-insensitively (RFC 9110 §11.1)
    /// and surrounding whitespace is ignored. Nil for any other scheme or an empty token.
    public static func parse(_ header: String?) -> String? {
        guard let header else { return nil }
        let trimmed = header.drop(while: { $0 == " " || $0 == "\t" })
        guard let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }),
              trimmed[..<space].lowercased() == "bearer"
        else { return nil }
        let token = trimmed[space...].trimmingPrefix(while: { $0 == " " || $0 == "\t" })
        let end = token.lastIndex(where: { $0 != " " && $0 != "\t" }).map { token.index(after: $0) } ?? token.startIndex
        let value = token[..<end]
        return value.isEmpty ? nil : String(value)
    }
}

/// Comparison of secrets whose time does not depend on where they first differ.
public enum ConstantTime {
    public static func equals(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
