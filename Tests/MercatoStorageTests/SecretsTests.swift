import MercatoStorage
import Testing

/// Secrets are compared through swift-crypto's constant-time digest comparison; the answer must still be
/// plain equality, whatever the lengths.
@Test func secretsCompareAsEqualityOfTheirText() {
    let token = "mk_" + String(repeating: "a1", count: 20)
    #expect(Secrets.same(token, token))
    #expect(Secrets.same(Secrets.sha256Hex(token), Secrets.sha256Hex(token)))
    #expect(!Secrets.same(token, token + "x"))
    #expect(!Secrets.same(token, String(token.dropLast()) + "b"))
    #expect(!Secrets.same("", token))
    #expect(Secrets.same("", ""))
}
