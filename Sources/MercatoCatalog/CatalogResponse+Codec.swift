import MercatoCache
import MercatoCore
import NIOCore

extension CatalogResponse {
    /// Binary form for the Redis tier: a small header (ETag, flags, surrogate keys), then the body bytes.
    public static let codec = ValueCodec<CatalogResponse>(
        encode: { response in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(response.body.readableBytes + 128)
            buffer.writeInteger(UInt8(1))  // format version
            buffer.writeInteger(UInt16(response.etag.utf8.count))
            buffer.writeString(response.etag)
            let kind = response.categoryKind.map { CategoryKind.allCases.firstIndex(of: $0)! + 1 } ?? 0
            buffer.writeInteger(UInt8(kind))
            buffer.writeInteger(UInt8(response.personalised ? 1 : 0))
            buffer.writeInteger(UInt16(response.surrogateKeys.count))
            for key in response.surrogateKeys {
                buffer.writeInteger(UInt16(key.utf8.count))
                buffer.writeString(key)
            }
            var body = response.body
            buffer.writeBuffer(&body)
            return buffer
        },
        decode: { bytes in
            var buffer = bytes
            guard buffer.readInteger(as: UInt8.self) == 1,
                  let etagLength = buffer.readInteger(as: UInt16.self), let etag = buffer.readString(length: Int(etagLength)),
                  let kind = buffer.readInteger(as: UInt8.self), let personalised = buffer.readInteger(as: UInt8.self),
                  let keyCount = buffer.readInteger(as: UInt16.self)
            else { return nil }
            var keys: [String] = []
            for _ in 0..<keyCount {
                guard let length = buffer.readInteger(as: UInt16.self), let key = buffer.readString(length: Int(length)) else { return nil }
                keys.append(key)
            }
            let categoryKind = kind == 0 ? nil : CategoryKind.allCases.indices.contains(Int(kind) - 1) ? CategoryKind.allCases[Int(kind) - 1] : nil
            return CatalogResponse(body: buffer, etag: etag, categoryKind: categoryKind, personalised: personalised == 1, surrogateKeys: keys)
        })
}
