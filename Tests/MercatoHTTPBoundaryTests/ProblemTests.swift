import Foundation
import HTTPTypes
import MercatoCore
import MercatoHTTPBoundary
import Testing

/// What each error becomes at the HTTP boundary.
@Suite("Problems")
struct ProblemTests {
    /// The body as a dictionary of its members.
    func members(_ problem: Problem) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(problem.json)) as? [String: Any])
    }

    @Test func aValidationErrorHasOneTitleAndKeepsItsMessage() throws {
        let problem = Problem.from(MercatoError.validation(field: "price", message: "price must not be negative"))
        #expect(problem.status == .unprocessableContent)
        #expect(problem.title == "Validation failed")
        let body = try members(problem)
        #expect(body["type"] as? String == "https://mercato.dev/problems/validation")
        #expect(body["title"] as? String == "Validation failed")
        #expect(body["detail"] as? String == "price must not be negative")
        #expect(body["status"] as? Int == 422)
    }

    @Test func anUnknownErrorIsAnOpaque500() throws {
        struct Leaky: Error { let secret = "password=hunter2" }
        let problem = Problem.from(Leaky())
        #expect(problem.status == .internalServerError)
        #expect(!String(decoding: problem.json, as: UTF8.self).contains("hunter2"))
    }

    @Test func extensionMembersAreWrittenAsRawJSON() throws {
        var problem = Problem(status: .conflict, type: "reservation-not-held", title: "Reservation not held", detail: "reservation 'k' is released")
        problem.members.append(("reservation_status", Array(#""released""#.utf8)))
        #expect(try members(problem)["reservation_status"] as? String == "released")
    }

    @Test func anUnauthorizedProblemAsksForABearerToken() {
        #expect(Problem.from(MercatoError.unauthorized("missing token")).extraHeaders[.wwwAuthenticate] == "Bearer")
    }
}
