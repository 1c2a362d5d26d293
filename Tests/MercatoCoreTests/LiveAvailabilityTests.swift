import MercatoCache
import MercatoCatalog
import MercatoCore
import Testing

@Suite("Live availability")
struct LiveAvailabilityTests {
    let variant = VariantID.random()

    func level(_ live: LiveAvailability) -> LiveAvailability.Level? { live.levels([variant])?.first }

    @Test func anOlderLevelNeverOverwritesANewerOne() {
        let live = LiveAvailability()
        live.apply([PushedFact(key: variant.description, value: 7, version: 3)])
        // Delivered out of order: versions 2 and 1 arrive after 3.
        live.apply([PushedFact(key: variant.description, value: 9, version: 2)])
        live.store(levels: [variant: .init(stock: 10, version: 1)], epoch: live.epoch)
        #expect(level(live) == .init(stock: 7, version: 3))
        live.apply([PushedFact(key: variant.description, value: 6, version: 4)])
        #expect(level(live) == .init(stock: 6, version: 4))
    }

    /// Every order of the same pushes ends at the newest level.
    @Test func theOrderOfArrivalDoesNotMatter() {
        let pushes = (1...6).map { PushedFact(key: variant.description, value: Int64(100 - $0), version: Int64($0)) }
        var orders: [[PushedFact]] = [pushes, pushes.reversed()]
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<20 { orders.append(pushes.shuffled(using: &rng)) }
        for order in orders {
            let live = LiveAvailability()
            for push in order { live.apply([push]) }
            #expect(level(live) == .init(stock: 94, version: 6))
        }
    }

    @Test func aLoadThatBeganBeforeAResetIsNotStored() {
        let live = LiveAvailability()
        let epoch = live.epoch
        // Pushes may have been lost (a dropped subscription): everything held is forgotten.
        live.reset()
        live.store(levels: [variant: .init(stock: 5, version: 1)], epoch: epoch)
        #expect(level(live) == nil, "a load from before the reset must not fill the new epoch")
        live.store(levels: [variant: .init(stock: 4, version: 2)], epoch: live.epoch)
        #expect(level(live) == .init(stock: 4, version: 2))
    }

    @Test func listingFactsNeedTheGenerationAndEveryVariant() {
        let live = LiveAvailability()
        let product = ProductID.random(), other = VariantID.random()
        live.store(product: product, merchantGeneration: "m1", productGeneration: "g1", facts: .init(variants: [variant, other], prices: ["EUR": 1200]), epoch: live.epoch)
        live.apply([PushedFact(key: variant.description, value: 0, version: 1)])
        #expect(live.listingFacts([product], productGenerations: ["g1"], merchantGeneration: "m1", currency: "EUR").isEmpty, "one variant's level is not held")
        live.apply([PushedFact(key: other.description, value: 3, version: 1)])
        let facts = live.listingFacts([product], productGenerations: ["g1"], merchantGeneration: "m1", currency: "EUR")[product]
        #expect(facts?.inStock == true && facts?.price == 1200)
        #expect(live.listingFacts([product], productGenerations: ["g2"], merchantGeneration: "m1", currency: "EUR").isEmpty, "a price write moved the product to another generation")
        #expect(live.listingFacts([product], productGenerations: ["g1"], merchantGeneration: "m2", currency: "EUR").isEmpty, "a variant was added or deleted")
        #expect(live.listingFacts([product], productGenerations: ["g1"], merchantGeneration: "m1", currency: "GBP").isEmpty)
        live.apply([PushedFact(key: other.description, value: 0, version: 2)])
        #expect(live.listingFacts([product], productGenerations: ["g1"], merchantGeneration: "m1", currency: "EUR")[product]?.inStock == false)
    }

    @Test func pastItsLimitEverythingIsDroppedAndOlderLoadsAreRefused() {
        let live = LiveAvailability(limit: 3)
        let epoch = live.epoch
        for index in 0..<4 { live.apply([PushedFact(key: VariantID.random().description, value: 1, version: Int64(index))]) }
        #expect(live.epoch != epoch)
        live.store(levels: [variant: .init(stock: 1, version: 1)], epoch: epoch)
        #expect(level(live) == nil)
    }
}

@Suite("Live templates")
struct LiveTemplateTests {
    @Test func holesAreFilledInPlaceAndFallBackToTheRenderedValue() {
        let product = ProductID.random(), variant = VariantID.random()
        let template = LiveTemplate(
            segments: [.init(string: "{\"price\":"), .init(string: ",\"in_stock\":"), .init(string: ",\"stock\":"), .init(string: "}")],
            holes: [.price(product), .inStock(product), .stock(variant)], rendered: [500, 1, 9], currency: "EUR")
        let live = template.fill { _, hole in
            switch hole {
            case .price: 450
            case .inStock: 0
            default: nil
            }
        }
        #expect(String(buffer: live) == #"{"price":{"currency":"EUR","amount":450},"in_stock":false,"stock":9}"#)
        #expect(template.listedProducts == [product])
        #expect(template.stockedVariants == [variant])
    }
}
