import Crypto
import Foundation
import MercatoCore
import MercatoStorage

/// HMAC-SHA256 signing with the installation secret, for cursors and storefront tokens.
public struct Signer: Sendable {
    private let key: KeyBox

    public init(secret: String) { key = KeyBox(SymmetricKey(data: Data(secret.utf8))) }

    /// The first 16 bytes of the MAC: enough against forgery, short in URLs.
    public func tag(_ payload: some DataProtocol) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: payload, using: key.key).prefix(16))
    }

    /// Constant-time check of a tag.
    public func verify(_ tag: Data, for payload: some DataProtocol) -> Bool {
        let expected = self.tag(payload)
        guard expected.count == tag.count else { return false }
        var diff: UInt8 = 0
        for (a, b) in zip(expected, tag) { diff |= a ^ b }
        return diff == 0
    }
}

/// Storefront tokens carry a customer group for one store: `sf_<payload>.<tag>`, verified without a
/// database read. The payload names the store by slug, which every storefront URL carries, so a token can
/// be checked (and the cache key chosen) before anything is looked up.
public struct StorefrontTokens: Sendable {
    let signer: Signer

    public init(signer: Signer) { self.signer = signer }

    /// Issues a token that puts its bearer in `group` for the store `merchantSlug`.
    public func issue(merchantSlug: String, group: CustomerGroup) -> String {
        let payload = Self.payload(merchantSlug: merchantSlug, group: group)
        return "sf_" + Secrets.base64URL(payload) + "." + Secrets.base64URL(signer.tag(payload))
    }

    /// The group a token grants in `merchantSlug`'s store; throws `unauthorized` for a forged, malformed or foreign token.
    public func group(from token: String, merchantSlug: String) throws(MercatoError) -> CustomerGroup {
        let parts = token.dropFirst(3).split(separator: ".")
        guard token.hasPrefix("sf_"), parts.count == 2,
              let payload = Secrets.decodeBase64URL(String(parts[0])), let tag = Secrets.decodeBase64URL(String(parts[1])),
              payload.count >= 2, signer.verify(tag, for: payload)
        else { throw .unauthorized("the storefront token is not valid") }
        guard payload.dropFirst() == Data(merchantSlug.utf8),
              let group = CustomerGroup.allCases.first(where: { $0.index == Int(payload[payload.startIndex]) })
        else { throw .unauthorized("the storefront token belongs to another store") }
        return group
    }

    static func payload(merchantSlug: String, group: CustomerGroup) -> Data {
        var data = Data([UInt8(group.index)])
        data.append(contentsOf: merchantSlug.utf8)
        return data
    }
}

/// Holds the HMAC key built once. `SymmetricKey` is an immutable value that swift-crypto has not
/// marked Sendable; it is never mutated after init, so sharing it is safe.
private final class KeyBox: @unchecked Sendable {
    let key: SymmetricKey
    init(_ key: SymmetricKey) { self.key = key }
}
