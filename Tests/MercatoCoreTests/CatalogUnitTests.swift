import Foundation
import MercatoCatalog
import MercatoCore
import MercatoJSON
import MercatoStorage
import MercatoSQL
import Testing
import MercatoCatalogStore

@Suite("Cursors and tokens")
struct CursorAndTokenTests {
    let signer = Signer(secret: "test-secret")
    let merchant = MerchantID.random()

    func query(sort: ListingSort = .newest, group: CustomerGroup = .public) -> ListingQuery {
        ListingQuery(
            merchantID: merchant, scope: merchant.sql, sort: sort, currency: CurrencyCode("EUR")!,
            audience: Audience(market: Market.named("DE")!, group: group), inStockOnly: false, after: nil, limit: 25)
    }

    @Test func cursorsRoundTripIncludingNegativeKeys() throws {
        let codec = ListingCursorCodec(signer: signer)
        for value in [Int64.min, -1, 0, 42, Int64.max] {
            let key = ListingKey(value: value, productID: .random())
            #expect(try codec.decode(codec.encode(key, for: query()), for: query()) == key)
        }
    }

    @Test func everyAlteredByteIsRejected() throws {
        let codec = ListingCursorCodec(signer: signer)
        let cursor = codec.encode(ListingKey(value: 7, productID: .random()), for: query())
        var data = try #require(Secrets.decodeBase64URL(cursor))
        for index in data.indices {
            data[index] ^= 0x01
            #expect(throws: MercatoError.self) { try codec.decode(Secrets.base64URL(data), for: query()) }
            data[index] ^= 0x01
        }
        #expect(throws: MercatoError.self) { try ListingCursorCodec(signer: Signer(secret: "other")).decode(cursor, for: query()) }
    }

    @Test func aCursorOnlyFitsTheListingItCameFrom() {
        let codec = ListingCursorCodec(signer: signer)
        let cursor = codec.encode(ListingKey(value: 7, productID: .random()), for: query())
        #expect(throws: MercatoError.self) { try codec.decode(cursor, for: query(sort: .bestselling)) }
        #expect(throws: MercatoError.self) { try codec.decode(cursor, for: query(group: .wholesale)) }
    }

    @Test func storefrontTokensAreBoundToTheirStore() throws {
        let tokens = StorefrontTokens(signer: signer)
        let token = tokens.issue(merchantSlug: "demo", group: .wholesale, expiresAt: 2_000)
        #expect(try tokens.group(from: token, merchantSlug: "demo", now: 1_000) == .wholesale)
        #expect(throws: MercatoError.self) { try tokens.group(from: token, merchantSlug: "demo2", now: 1_000) }
        #expect(throws: MercatoError.self) { try tokens.group(from: token, merchantSlug: "dem", now: 1_000) }
        #expect(throws: MercatoError.self) { try tokens.group(from: token + "x", merchantSlug: "demo", now: 1_000) }
        #expect(throws: MercatoError.self) { try StorefrontTokens(signer: Signer(secret: "x")).group(from: token, merchantSlug: "demo", now: 1_000) }
    }

    @Test func storefrontTokensExpire() throws {
        let tokens = StorefrontTokens(signer: signer)
        let token = tokens.issue(merchantSlug: "demo", group: .member, expiresAt: 2_000)
        #expect(try tokens.group(from: token, merchantSlug: "demo", now: 1_999) == .member)
        #expect(throws: MercatoError.unauthorized("the storefront token has expired; issue a new one")) {
            try tokens.group(from: token, merchantSlug: "demo", now: 2_000)
        }
        // The expiry is inside the signed payload: moving it forward breaks the tag.
        let later = tokens.issue(merchantSlug: "demo", group: .member, expiresAt: 9_000)
        let forged = String(later.prefix(while: { $0 != "." })) + String(token.drop(while: { $0 != "." }))
        #expect(throws: MercatoError.unauthorized("the storefront token is not valid")) {
            try tokens.group(from: forged, merchantSlug: "demo", now: 2_500)
        }
    }

    @Test func storefrontTokensOfTheRetiredFormatWithoutExpiryAreRefused() {
        // sf_ + base64url([group 2] + "demo") + "." + its tag under this signer: valid once, never expiring.
        var payload = Data([2])
        payload.append(contentsOf: "demo".utf8)
        let old = "sf_" + Secrets.base64URL(payload) + "." + Secrets.base64URL(signer.tag(payload))
        #expect(throws: MercatoError.self) { try StorefrontTokens(signer: signer).group(from: old, merchantSlug: "demo", now: 0) }
    }
}

@Suite("JSON writing")
struct JSONWriterTests {
    @Test func stringsAreEscapedIntoValidJSON() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{07} emoji 🧦 </script>"
        var writer = JSONWriter()
        writer.raw("{"); writer.key("v"); writer.string(nasty); writer.raw("}")
        let parsed = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: String]
        #expect(parsed?["v"] == nasty)
    }

    @Test func variantOptionsAreAnOrderedObject() {
        let json = VariantOption.jsonObject([VariantOption(name: "size", value: "M"), VariantOption(name: "colour", value: "navy \"blue\"")])
        #expect(json == #"{"colour":"navy \"blue\"","size":"M"}"#)
    }
}

@Suite("Seeder")
struct SeederUnitTests {
    @Test func slugsAndGeneratorAreDeterministic() {
        #expect(Seeder.slugify("Summer Sale: Under 20!") == "summer-sale-under-20")
        var a = SeededGenerator(seed: 9)
        var b = SeededGenerator(seed: 9)
        #expect((0..<5).map { _ in a.uuid() } == (0..<5).map { _ in b.uuid() })
        #expect(Seeder.merchantSlug(0) == "demo")
        #expect(Seeder.merchantSlug(1) == "shop-002")
    }
}

@Suite("Encodings")
struct EncodingTests {
    @Test func base64URLMatchesFoundationForEveryLength() {
        for length in 0..<40 {
            let data = Data((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) })
            let reference = data.base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Secrets.base64URL(data) == reference)
            #expect(Secrets.decodeBase64URL(reference) == data)
        }
    }

    @Test func identifiersPrintAsLowercaseUUIDs() {
        for _ in 0..<20 {
            let id = ProductID.random()
            #expect(id.description == id.uuid.uuidString.lowercased())
        }
    }
}
