import Foundation
@testable import MercatoAdmin
import MercatoCache
import MercatoCatalog
import MercatoCore
import MercatoStorage
import Testing
import MercatoCatalogStore

/// What each admin write tells the other instances, on the service itself: the bus records every event
/// and pushed fact, the store is the embedded SQLite database.
@Suite("Admin service, with a recording bus")
struct AdminServiceTests {
    static func withAdmin(_ body: @Sendable (AdminService, RecordingBus, Merchant, AdminProduct) async throws -> Void) async throws {
        try await ServiceFixture.withMerchant { database, merchant in
            let bus = RecordingBus()
            let admin = AdminService(writer: CatalogWriter(database: database), bus: bus)
            let currency = merchant.defaultMarket.currency
            let product = try await admin.createProduct(merchant, try ProductInput(
                slug: "lamp", name: "Lamp", variants: [VariantInput(sku: "LAMP-1", prices: [MoneyInput(currency: currency.code, amount: 4200)], stock: 3)]
            ).validated())
            bus.clear()
            try await body(admin, bus, merchant, product)
        }
    }

    @Test func aRenameInvalidatesTheProductAndThePagesHoldingItNotTheMerchant() async throws {
        try await Self.withAdmin { admin, bus, merchant, product in
            let renamed = try await admin.updateProduct(merchant, id: product.id, try ProductPatchInput(name: "Desk lamp").validated())
            #expect(renamed.name == "Desk lamp")
            let events = bus.events.withLock { $0 }
            let root = CacheNamespace.listings(merchant.slug, scope: CacheNamespace.rootScope)
            #expect(events.map(\.namespace) == [
                CacheNamespace.prices(merchant.slug), CacheNamespace.stock(merchant.slug, product.id), CacheNamespace.product(merchant.slug, product.id), root,
            ])
            #expect(events.first { $0.namespace == CacheNamespace.product(merchant.slug, product.id) }?.surrogateKeys == ["p:\(product.id)"])
            // A card change: every page holding the product is stale, no other page is.
            #expect(events.first { $0.namespace == root }?.moves == [
                SortMove(dimension: CacheNamespace.cardDimension, from: nil, to: nil, product: product.id.description),
            ])
            #expect(bus.facts.withLock { $0 }.isEmpty)
        }
    }

    @Test func aDescriptionEditTouchesTheDetailOnly() async throws {
        try await Self.withAdmin { admin, bus, merchant, product in
            _ = try await admin.updateProduct(merchant, id: product.id, try ProductPatchInput(description: "Brass, 40 cm").validated())
            #expect(bus.namespaces.contains(CacheNamespace.product(merchant.slug, product.id)))
            #expect(!bus.namespaces.contains { $0.contains("#listings:") || $0 == CacheNamespace.merchant(merchant.slug) })
        }
    }

    @Test func archivingMovesTheProductOutOfEverySortOfItsScopes() async throws {
        try await Self.withAdmin { admin, bus, merchant, product in
            _ = try await admin.archiveProduct(merchant, id: product.id)
            let root = CacheNamespace.listings(merchant.slug, scope: CacheNamespace.rootScope)
            let moves = try #require(bus.events.withLock { $0 }.first { $0.namespace == root }?.moves)
            let currency = merchant.defaultMarket.currency.code
            #expect(Set(moves.map(\.dimension)) == [CacheNamespace.positionDimension, CacheNamespace.createdDimension, CacheNamespace.salesDimension, currency])
            #expect(moves.allSatisfy { $0.to == nil && $0.from != nil && $0.product == product.id.description })
            #expect(moves.first { $0.dimension == currency }?.from == 4200)
            #expect(!bus.namespaces.contains(CacheNamespace.merchant(merchant.slug)))
        }
    }

    @Test func aNewProductEntersItsScopesAndRenewsTheSlugDirectory() async throws {
        try await Self.withAdmin { admin, bus, merchant, _ in
            let currency = merchant.defaultMarket.currency
            let category = try await admin.createCategory(merchant, try CategoryInput(slug: "lights", name: "Lights").validated())
            bus.clear()
            let created = try await admin.createProduct(merchant, try ProductInput(
                slug: "spot", name: "Spot", categoryIds: [category.id.description],
                variants: [VariantInput(sku: "SPOT-1", prices: [MoneyInput(currency: currency.code, amount: 900)], stock: 1)]
            ).validated())
            let namespaces = bus.namespaces
            #expect(namespaces.contains(CacheNamespace.listings(merchant.slug, scope: CacheNamespace.rootScope)))
            #expect(namespaces.contains(CacheNamespace.listings(merchant.slug, scope: category.id.description)))
            #expect(namespaces.contains(CacheNamespace.productSlugs(merchant.slug)))
            #expect(!namespaces.contains(CacheNamespace.merchant(merchant.slug)))
            let moves = bus.events.withLock { $0 }.compactMap(\.moves).joined()
            #expect(moves.allSatisfy { $0.from == nil && $0.to != nil && $0.product == created.id.description })
        }
    }

    @Test func aCategoryWriteStillInvalidatesTheWholeMerchant() async throws {
        try await Self.withAdmin { admin, bus, merchant, _ in
            _ = try await admin.createCategory(merchant, try CategoryInput(slug: "lights", name: "Lights").validated())
            #expect(bus.namespaces == [CacheNamespace.merchant(merchant.slug)])
        }
    }

    @Test func aPriceWriteInvalidatesTheProductThePricesAndThePriceOrderOnly() async throws {
        try await Self.withAdmin { admin, bus, merchant, product in
            let variant = try #require(product.variants.first)
            let currency = merchant.defaultMarket.currency
            let repriced = try await admin.setPrice(merchant, variantID: variant.id, try MoneyInput(currency: currency.code, amount: 3900).validated())
            #expect(repriced.variants.first?.prices.first { $0.currency == currency }?.amount == 3900)
            let namespaces = bus.namespaces
            #expect(namespaces.contains(CacheNamespace.product(merchant.slug, product.id)))
            #expect(namespaces.contains(CacheNamespace.prices(merchant.slug)))
            #expect(namespaces.contains(CacheNamespace.priceOrder(merchant.slug, scope: CacheNamespace.rootScope)))
            // The merchant's other responses stay valid.
            #expect(!namespaces.contains(CacheNamespace.merchant(merchant.slug)))
        }
    }

    @Test func aStockWritePushesTheLevelAndInvalidatesListsOnlyWhenItCrossesZero() async throws {
        try await Self.withAdmin { admin, bus, merchant, product in
            let variant = try #require(product.variants.first)
            _ = try await admin.setStock(merchant, variantID: variant.id, quantity: 7)
            #expect(bus.facts.withLock { $0 }.map(\.value) == [7])
            #expect(bus.namespaces == [CacheNamespace.stock(merchant.slug, product.id)])

            bus.clear()
            _ = try await admin.setStock(merchant, variantID: variant.id, quantity: 0)
            #expect(bus.facts.withLock { $0 }.map(\.value) == [0])
            #expect(bus.namespaces == [CacheNamespace.stock(merchant.slug, product.id), CacheNamespace.inStockLists(merchant.slug)])
        }
    }

    @Test func aRefusedWriteTellsNobody() async throws {
        try await Self.withAdmin { admin, bus, merchant, product in
            let variant = try #require(product.variants.first)
            await #expect(throws: MercatoError.validation(field: "quantity", message: "'quantity' must be between 0 and 1000000000")) {
                try await admin.setStock(merchant, variantID: variant.id, quantity: -1)
            }
            await #expect(throws: MercatoError.self) {
                try await admin.updateProduct(merchant, id: ProductID.random(), ProductPatch(name: "Ghost"))
            }
            #expect(bus.events.withLock { $0 }.isEmpty)
            #expect(bus.facts.withLock { $0 }.isEmpty)
            #expect(try await admin.product(merchant, id: product.id).variants.first?.stock == 3)
        }
    }

    @Test func productPagesEndWithoutACursor() async throws {
        try await Self.withAdmin { admin, _, merchant, _ in
            var seen: [ProductID] = []
            var cursor: ProductID?
            repeat {
                let page = try await admin.listProducts(merchant, after: cursor, limit: 1)
                #expect(page.ids.count <= 1)
                seen += page.ids
                cursor = page.next
            } while cursor != nil
            // The seed's two products and the lamp, each once, in id order.
            #expect(seen.count == 3)
            #expect(seen == seen.sorted { $0.description < $1.description })
        }
    }

    @Test func commandsNameTheFieldTheyRefuse() throws {
        #expect(throws: MercatoError.validation(field: "quantity", message: "'quantity' must be between 0 and 1000000000")) {
            try StockInput(quantity: 1_000_000_001).validated()
        }
        #expect(throws: MercatoError.self) { try VariantPatchInput(sku: "no spaces allowed").validated() }
        #expect(try VariantPatchInput(sku: "OK-1", options: ["size": "M"]).validated() == VariantPatch(sku: "OK-1", options: [VariantOption(name: "size", value: "M")]))
        let token = try StorefrontTokenInput(customerGroup: "wholesale", ttlSeconds: nil).validated(fallback: .seconds(3600), maximum: .seconds(86_400))
        #expect(token == StorefrontTokenRequest(group: .wholesale, lifetime: .seconds(3600)))
        #expect(throws: MercatoError.self) {
            try StorefrontTokenInput(customerGroup: "wholesale", ttlSeconds: 10).validated(fallback: .seconds(3600), maximum: .seconds(86_400))
        }
    }
}
