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

/// Storefront tokens carry a customer group for one store until an expiry:
/// `sf1_<payload>.<tag>`, verified without a database read. The payload names the store by slug,
/// which every storefront URL carries, so a token can be checked (and the cache key chosen) before
/// anything is looked up.
///
/// Tokens are stateless, so one cannot be revoked alone: they expire (default 30 days), and rotating
/// the installation's signing secret voids them all. Tokens of the first format (`sf_`, no expiry)
/// are refused.
public struct StorefrontTokens: Sendable {
    let signer: Signer

    /// Lifetime when the issuer names none.
    public static let defaultLifetime: Duration = .seconds(30 * 24 * 3600)
    /// Longest lifetime a token may have.
    public static let maximumLifetime: Duration = .seconds(365 * 24 * 3600)

    public init(signer: Signer) { self.signer = signer }

    /// Issues a token that puts its bearer in `group` for the store `merchantSlug` until `expiresAt`
    /// (seconds since 1970).
    public func issue(merchantSlug: String, group: CustomerGroup, expiresAt: Int64) -> String {
        let payload = Self.payload(merchantSlug: merchantSlug, group: group, expiresAt: expiresAt)
        return "sf1_" + Secrets.base64URL(payload) + "." + Secrets.base64URL(signer.tag(payload))
    }

    /// The group a token grants in `merchantSlug`'s store at `now` (seconds since 1970); throws
    /// `unauthorized` for a forged, malformed, expired or foreign token.
    public func group(from token: String, merchantSlug: String, now: Int64) throws(MercatoError) -> CustomerGroup {
        if token.hasPrefix("sf_") { throw .unauthorized("the storefront token has a retired format without an expiry; issue a new one") }
        let parts = token.dropFirst(4).split(separator: ".")
        guard token.hasPrefix("sf1_"), parts.count == 2,
              let payload = Secrets.decodeBase64URL(String(parts[0])), let tag = Secrets.decodeBase64URL(String(parts[1])),
              payload.count >= 9, signer.verify(tag, for: payload)
        else { throw .unauthorized("the storefront token is not valid") }
        let bytes = Array(payload)
        let expiresAt = bytes[1..<9].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        guard now < expiresAt else { throw .unauthorized("the storefront token has expired; issue a new one") }
        guard bytes[9...].elementsEqual(merchantSlug.utf8),
              let group = CustomerGroup.allCases.first(where: { $0.index == Int(bytes[0]) })
        else { throw .unauthorized("the storefront token belongs to another store") }
        return group
    }

    /// group index, expiry as 8 big-endian bytes, then the slug.
    static func payload(merchantSlug: String, group: CustomerGroup, expiresAt: Int64) -> Data {
        var data = Data([UInt8(group.index)])
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: expiresAt >> Int64(shift))) }
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
