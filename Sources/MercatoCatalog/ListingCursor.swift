import Crypto
import Foundation
import MercatoCore
import MercatoStorage
import MercatoCatalogStore

/// Opaque keyset cursors: the last row's sort key and id, bound to the query they came from and signed,
/// so a client can neither forge a position nor reuse a cursor with other filters.
public struct ListingCursorCodec: Sendable {
    let signer: Signer

    public init(signer: Signer) { self.signer = signer }

    /// A fingerprint of everything that shapes the listing's order and membership.
    public static func fingerprint(_ query: ListingQuery) -> Data {
        var hasher = SHA256()
        withUnsafeBytes(of: query.merchantID.uuid.uuid) { hasher.update(bufferPointer: $0) }
        if case .uuid(let scope) = query.scope {
            withUnsafeBytes(of: scope.uuid) { hasher.update(bufferPointer: $0) }
        }
        let text = "|\(query.sort.rawValue)|\(query.currency.code)|\(query.audience.market.code)|\(query.audience.group.rawValue)|\(query.inStockOnly)"
        hasher.update(data: Data(text.utf8))
        return Data(hasher.finalize().prefix(8))
    }

    public func encode(_ key: ListingKey, for query: ListingQuery) -> String {
        let payload = Self.payload(key, fingerprint: Self.fingerprint(query))
        return Secrets.base64URL(payload + signer.tag(payload))
    }

    /// Decodes a cursor for `query`; any tampering or mismatch is a 400.
    public func decode(_ cursor: String, for query: ListingQuery) throws(MercatoError) -> ListingKey {
        guard let data = Secrets.decodeBase64URL(cursor), data.count == 32 + 16 else {
            throw .badRequest("the cursor is malformed; use next_cursor from a previous page unchanged")
        }
        let payload = data.prefix(32)
        guard signer.verify(Data(data.suffix(16)), for: payload) else {
            throw .badRequest("the cursor has been tampered with; use next_cursor from a previous page unchanged")
        }
        guard Data(payload.suffix(8)) == Self.fingerprint(query) else {
            throw .badRequest("the cursor belongs to a different listing (category, sort, market, filters or audience changed)")
        }
        let bytes = Array(payload)
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[i]) }
        let uuid = UUID(uuid: (bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
                               bytes[16], bytes[17], bytes[18], bytes[19], bytes[20], bytes[21], bytes[22], bytes[23]))
        return ListingKey(value: Int64(bitPattern: value), productID: ProductID(uuid))
    }

    static func payload(_ key: ListingKey, fingerprint: Data) -> Data {
        var data = Data(capacity: 32)
        let value = UInt64(bitPattern: key.value)
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        withUnsafeBytes(of: key.productID.uuid.uuid) { data.append(contentsOf: $0) }
        data.append(fingerprint)
        return data
    }
}
