import MercatoHTTPBoundary
import MercatoStorage
import MercatoSQL

extension StorageError: ProblemConvertible {
    /// A database that cannot be reached is a 503 the client may retry; anything else stays an opaque 500.
    public var problem: Problem {
        switch self {
        case .unavailable, .transient:
            var problem = Problem(status: .serviceUnavailable, type: "database-unavailable", title: "Database unavailable",
                                  detail: "the database did not answer; retry shortly")
            problem.extraHeaders[.retryAfter] = "1"
            return problem
        case .decoding, .configuration, .uniqueViolation, .database:
            return Problem(status: .internalServerError, type: "internal", title: "Internal server error", detail: "an unexpected error occurred; it has been logged")
        }
    }
}
