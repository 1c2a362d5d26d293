import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoHTTP
import NIOCore
import Testing

/// Drives every operation of the contract with requests the rest of the suite rarely sends (no or bogus
/// credentials, unknown and malformed ids, bodies that are malformed, mistyped, oversized or of the wrong
/// media type), so the contract's error answers are checked too: the harness validates each answer, and
/// none may be a 5xx.
@Suite struct ContractProbeTests {
    @Test func everyOperationAnswersBadRequestsAsDocumented() async throws {
        let operations = try Contract.served.get().operations.keys.sorted()
        try await Harness.withApp(.sqlite, merchants: 1, products: 3) { client, fixture in
            var answered = 0
            for key in operations {
                let parts = key.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                let template = String(parts[1])
                // Revoking the fixture's token would turn every later probe into a 401.
                let revokes = key == "DELETE /v1/admin/tokens/current"
                let hasBody = [.post, .put, .patch].contains(method)
                for id in [UUID().uuidString.lowercased(), "not-a-uuid"] {
                    let path = template
                        .replacingOccurrences(of: "{merchant}", with: fixture.slug)
                        .replacingOccurrences(of: "{product}", with: id)
                        .replacingOccurrences(of: "{id}", with: id)
                    var attempts: [(HTTPFields, String?)] = [([:], nil)]
                    var credentials: HTTPFields = [.authorization: "Bearer mk_bogus", .init("X-Checkout-Token")!: "bogus", .init("X-Storefront-Token")!: "bogus"]
                    attempts.append((credentials, nil))
                    if !revokes {
                        credentials[.authorization] = "Bearer \(fixture.token)"
                        credentials[.init("X-Storefront-Token")!] = nil
                        attempts.append((credentials, nil))
                        if hasBody {
                            var typed = credentials
                            typed[.contentType] = "application/json"
                            for body in ["{", "[]", #"{"unknown": 1}"#, "{}", #"{"quantity": 1.5, "amount": "x"}"#, String(repeating: " ", count: 70 * 1024) + "{}"] {
                                attempts.append((typed, body))
                            }
                            var text = credentials
                            text[.contentType] = "text/plain"
                            attempts.append((text, "{}"))
                        }
                    }
                    for (headers, body) in attempts {
                        let status = try await client.execute(
                            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
                        ) { $0.status }
                        #expect(status.code < 500, "\(method) \(path) with \(body?.prefix(20) ?? "no body"): \(status)")
                        answered += 1
                    }
                }
            }
            #expect(answered > 200)
        }
    }
}
