import Hummingbird
import MercatoCore
import MercatoHTTPBoundary
import Testing

/// The request-target check: its fast path for plain targets must agree with the full decode.
@Suite("Request target check")
struct RequestTargetTests {
    typealias Check = RequestTargetMiddleware<BasicRequestContext>

    @Test func plainTargetsPassWithoutDecoding() {
        #expect(Check.check(path: "/v1/stores/demo/products", query: "sort=price_asc&limit=24") == nil)
        #expect(Check.check(path: "/health", query: nil) == nil)
    }

    @Test func escapedButCleanTargetsPass() {
        #expect(Check.check(path: "/v1/stores/d%C3%A9mo/products", query: "category=caf%C3%A9+cr%C3%A8me") == nil)
        #expect(Check.check(path: "/v1/stores/demo/products", query: "category=%41%42") == nil)
    }

    @Test func controlCharactersAndInvalidUTF8AreRefusedEitherWay() {
        #expect(Check.check(path: "/v1/stores/de%00mo/products", query: nil) != nil)
        #expect(Check.check(path: "/v1/stores/demo/products", query: "category=%7F") != nil)
        #expect(Check.check(path: "/v1/stores/demo/products", query: "category=%C3") != nil)
        // Raw bytes never take the fast path.
        #expect(Check.check(path: "/v1/stores/de\u{01}mo/products", query: nil) != nil)
        #expect(Check.check(path: "/v1/stores/demo/products", query: "sort=a\u{7F}") != nil)
    }
}
