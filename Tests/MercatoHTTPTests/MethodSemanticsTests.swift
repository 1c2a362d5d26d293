import Testing

/// RFC 9110 method semantics over real HTTP: 405 with `Allow` on a path that exists, HEAD like GET without
/// the body, 404 only for paths that do not exist.
@Suite("HTTP method semantics")
struct MethodSemanticsTests {
    @Test func aKnownPathAnswersAnUnsupportedMethodWith405AndAllow() async throws {
        try await Harness.withLiveApp(.sqlite) { base, fixture, _ in
            let port = try #require(Int(base.split(separator: ":").last ?? ""))
            let health = RawHTTP.split(try await RawHTTP.exchange(port: port, Array("DELETE /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8)))
            #expect(health.head.hasPrefix("HTTP/1.1 405"))
            #expect(health.head.contains("Allow: GET, HEAD"))
            #expect(health.body.contains("method-not-allowed"))
            let admin = RawHTTP.split(try await RawHTTP.exchange(
                port: port, Array("TRACE /v1/admin/products/00000000-0000-0000-0000-000000000001 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8)))
            #expect(admin.head.hasPrefix("HTTP/1.1 405"))
            #expect(admin.head.contains("Allow: DELETE, GET, HEAD, PATCH"))
            let unknown = try await RawHTTP.exchange(port: port, Array("DELETE /v1/nothing-here HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8))
            #expect(unknown.hasPrefix("HTTP/1.1 404"))
            _ = fixture
        }
    }

    @Test func headIsAnsweredLikeGetWithoutTheBody() async throws {
        try await Harness.withLiveApp(.sqlite) { base, fixture, _ in
            let port = try #require(Int(base.split(separator: ":").last ?? ""))
            let path = "/v1/stores/\(fixture.slug)/products?limit=3"
            let get = RawHTTP.split(try await RawHTTP.exchange(port: port, Array("GET \(path) HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8)))
            // HEAD then GET on one connection: if HEAD sent a body, the second answer would not start where it should.
            let both = try await RawHTTP.exchange(
                port: port, Array("HEAD \(path) HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8))
            let (head, rest) = RawHTTP.split(both)
            #expect(head.hasPrefix("HTTP/1.1 200"))
            #expect(head.contains("Content-Length: \(get.body.utf8.count)"))
            #expect(rest.hasPrefix("HTTP/1.1 200"), "the HEAD answer carried no body: the next answer follows its headers")
            #expect(rest.hasSuffix(#"{"status":"ok"}"#))
        }
    }
}
