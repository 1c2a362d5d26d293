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
