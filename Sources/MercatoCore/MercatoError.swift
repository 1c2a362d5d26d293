/// Domain errors; the HTTP edge maps each to an RFC 9457 problem.
public enum MercatoError: Error, Sendable, Equatable {
    /// The resource does not exist for this caller (also used to hide other tenants' data).
    case notFound(String)
    /// The request was understood but a field is invalid.
    case validation(field: String, message: String)
    /// Malformed request (syntax, bad cursor, bad parameter shape).
    case badRequest(String)
    /// The write conflicts with the current state (duplicate slug, SKU, …).
    case conflict(String)
    /// Missing or invalid credentials.
    case unauthorized(String)
}
