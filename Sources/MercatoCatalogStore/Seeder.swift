import Foundation
import Logging
import MercatoCore
import MercatoJSON
import MercatoSQL
import MercatoStorage

/// Builds a deterministic, realistic demo catalog: category trees with restricted branches,
/// 1–6 variants per product, prices in each market currency, skewed stock and sales.
public struct Seeder: Sendable {
    public struct Options: Sendable {
        public var merchants: Int
        public var productsPerMerchant: Int
        public var seed: UInt64
        /// Merchant slugs are `demo`, `shop-002`, … by default, or `PREFIX-1`, `PREFIX-2`, … with a prefix
        /// (tests use one so their merchants never collide).
        public var slugPrefix: String?

        public init(merchants: Int, productsPerMerchant: Int, seed: UInt64, slugPrefix: String? = nil) {
            self.merchants = merchants
            self.productsPerMerchant = productsPerMerchant
            self.seed = seed
            self.slugPrefix = slugPrefix
        }

        /// What `mercato serve` seeds on first run.
        public static let demo = Options(merchants: 2, productsPerMerchant: 500, seed: 42)
    }

    /// What one seeded merchant ended up with.
    public struct SeededMerchant: Sendable {
        public var merchant: Merchant
        public var products: Int
        public var skipped: Bool
    }

    let database: any DatabaseClient
    let logger: Logger

    public init(database: any DatabaseClient, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Slug of the i-th seeded merchant: the first is `demo`.
    public static func merchantSlug(_ index: Int, prefix: String? = nil) -> String {
        if let prefix { return "\(prefix)-\(index + 1)" }
        return index == 0 ? "demo" : String(format: "shop-%03d", index + 1)
    }

    /// Seeds merchants that do not exist yet; existing slugs are left untouched.
    public func seed(_ options: Options) async throws -> [SeededMerchant] {
        var result: [SeededMerchant] = []
        let writer = CatalogWriter(database: database)
        for index in 0..<options.merchants {
            let slug = Self.merchantSlug(index, prefix: options.slugPrefix)
            // The slug is part of the seed so two merchants never share generated ids.
            var rng = SeededGenerator(seed: options.seed &* 1_000_003 ^ Self.fnv1a(slug))
            if let existing = try await writer.merchant(slug: slug) {
                result.append(SeededMerchant(merchant: existing, products: 0, skipped: true))
                continue
            }
            let merchant = try await seedMerchant(slug: slug, index: index, options: options, rng: &rng)
            result.append(SeededMerchant(merchant: merchant, products: options.productsPerMerchant, skipped: false))
        }
        switch database.dialect {
        case .postgres: try await database.execute("VACUUM ANALYZE")
        case .sqlite: try await database.execute("ANALYZE")
        }
        return result
    }

    static let demoMarkets = ["DE", "AT", "FR", "NL", "GB", "US", "SE"]

    private func seedMerchant(slug: String, index: Int, options: Options, rng: inout SeededGenerator) async throws -> Merchant {
        let products = options.productsPerMerchant
        let marketCodes: [String] = index == 0 || options.slugPrefix != nil
            ? Self.demoMarkets
            : Array(Market.all.map(\.code).shuffled(using: &rng).prefix(Int.random(in: 3...6, using: &rng)))
        let merchant = Merchant(
            id: MerchantID(rng.uuid()), slug: slug, name: index == 0 ? "Demo Outfitters" : "Shop \(index + 1)",
            markets: marketCodes.compactMap(Market.named))
        let currencies = Array(Set(merchant.markets.map(\.currency))).sorted()
        let now = WallClock.nowMicros()
        try await database.execute(
            "INSERT INTO merchants (id, slug, name, markets, created_at) VALUES ($1, $2, $3, $4, $5)",
            merchant.id.sql, .text(merchant.slug), .text(merchant.name), .text(marketCodes.joined(separator: ",")), .int(now))

        // Categories: create through the writer so masks are derived exactly as for admin writes.
        let writer = CatalogWriter(database: database)
        var leaves: [(CategoryID, restricted: Bool)] = []
        for (topIndex, top) in Self.tree.enumerated() {
            let (topCategory, _) = try await writer.createCategory(
                merchantID: merchant.id,
                draft: CategoryDraft(slug: Self.slugify(top.name), name: top.name, kind: top.kind, parentID: nil, position: Int64(topIndex), visibility: top.rule),
                id: CategoryID(rng.uuid()))
            for (childIndex, child) in top.children.enumerated() {
                let (childCategory, _) = try await writer.createCategory(
                    merchantID: merchant.id,
                    draft: CategoryDraft(
                        slug: Self.slugify(top.name + " " + child), name: child, kind: top.kind, parentID: topCategory.id,
                        position: Int64(childIndex), visibility: .public),
                    id: CategoryID(rng.uuid()))
                leaves.append((childCategory.id, restricted: !top.rule.isPublic))
            }
        }
        let publicLeaves = leaves.filter { !$0.restricted }.map(\.0)
        let restrictedLeaves = leaves.filter(\.restricted).map(\.0)

        var productRows: [[SQLValue]] = []
        var categoryRows: [[SQLValue]] = []
        var variantRows: [[SQLValue]] = []
        var priceRows: [[SQLValue]] = []
        var productIDs: [ProductID] = []
        productIDs.reserveCapacity(products)

        func flush() async throws {
            let (productRows, categoryRows, variantRows, priceRows) = (productRows, categoryRows, variantRows, priceRows)
            try await database.transaction { tx in
                try await BatchInsert.insert(
                    into: "products",
                    columns: ["id", "merchant_id", "slug", "name", "description", "images", "primary_image", "position", "created_at", "sales_count", "status", "updated_at"],
                    rows: productRows, on: tx)
                try await BatchInsert.insert(into: "product_categories", columns: ["product_id", "category_id"], rows: categoryRows, on: tx)
                try await BatchInsert.insert(
                    into: "variants", columns: ["id", "product_id", "merchant_id", "sku", "options", "position", "stock"], rows: variantRows, on: tx)
                try await BatchInsert.insert(into: "variant_prices", columns: ["variant_id", "currency", "amount"], rows: priceRows, on: tx)
            }
        }
        func reset() {
            productRows.removeAll(keepingCapacity: true)
            categoryRows.removeAll(keepingCapacity: true)
            variantRows.removeAll(keepingCapacity: true)
            priceRows.removeAll(keepingCapacity: true)
        }

        for p in 0..<products {
            let id = ProductID(rng.uuid())
            productIDs.append(id)
            let adjective = Self.adjectives.randomElement(using: &rng)!
            let material = Self.materials.randomElement(using: &rng)!
            let noun = Self.nouns.randomElement(using: &rng)!
            let name = "\(adjective) \(material) \(noun)"
            let images = (0..<Int.random(in: 1...4, using: &rng)).map { "https://img.mercato.example/\(slug)/\(id)/\($0).jpg" }
            // 2 % draft, 1 % archived: the storefront must hide them.
            let roll = Int.random(in: 0..<100, using: &rng)
            let status: ProductStatus = roll < 2 ? .draft : (roll < 3 ? .archived : .active)
            let createdAt = now - Int64(Double.random(in: 0..<(730 * 86_400), using: &rng) * 1_000_000)
            let sales = Int64(rng.skewed(power: 4) * 10_000)
            productRows.append([
                id.sql, merchant.id.sql, .text("\(Self.slugify(name))-\(p + 1)"), .text(name),
                .text("A \(adjective.lowercased()) \(noun.lowercased()) made of \(material.lowercased()). Seeded item \(p + 1)."),
                .text(CatalogWriter.jsonText(images)), .text(images[0]), .int(Int64(p)), .int(createdAt), .int(sales), .text(status.rawValue), .int(now),
            ])
            // One product in 12 lives only in a restricted branch; 20 % sit in two categories.
            var categories: Set<CategoryID> = []
            if !restrictedLeaves.isEmpty && p % 12 == 5 {
                categories.insert(restrictedLeaves.randomElement(using: &rng)!)
            } else {
                categories.insert(publicLeaves.randomElement(using: &rng)!)
                if Int.random(in: 0..<100, using: &rng) < 20 { categories.insert(publicLeaves.randomElement(using: &rng)!) }
            }
            for category in categories.sorted() { categoryRows.append([id.sql, category.sql]) }

            let basePrice = Int64(500 + rng.skewed(power: 2) * 29_500)
            let sizes = Array(Self.sizes.prefix(Int.random(in: 1...6, using: &rng)))
            let colour = Self.colours.randomElement(using: &rng)!
            for (v, size) in sizes.enumerated() {
                let variantID = VariantID(rng.uuid())
                // One product in 10 is sold out entirely; elsewhere 15 % of variants are.
                let soldOut = p % 10 == 7 || Int.random(in: 0..<100, using: &rng) < 15
                let stock: Int64 = soldOut ? 0 : Int64(1 + rng.skewed(power: 3) * 500)
                let options = [VariantOption(name: "size", value: size), VariantOption(name: "colour", value: colour)]
                variantRows.append([
                    variantID.sql, id.sql, merchant.id.sql, .text("\(slug.uppercased())-\(p + 1)-\(size)"),
                    .text(VariantOption.jsonObject(options)), .int(Int64(v)), .int(stock),
                ])
                let variantPrice = basePrice + Int64(v) * 100
                for currency in currencies {
                    priceRows.append([variantID.sql, .text(currency.code), .int(Self.convert(variantPrice, to: currency))])
                }
            }
            if productRows.count >= 2_000 {
                try await flush()
                reset()
            }
        }
        try await flush()
        for start in stride(from: 0, to: productIDs.count, by: 5_000) {
            let batch = Array(productIDs[start..<min(start + 5_000, productIDs.count)])
            try await database.transaction { tx in
                _ = try await ListingProjector.reproject(batch, merchantID: merchant.id, on: tx)
            }
        }
        logger.info("seeded merchant", metadata: ["slug": "\(slug)", "products": "\(products)"])
        return merchant
    }

    /// EUR minor units to another currency at fixed demo rates, rounded to a price ending in 99 (0 for JPY-like).
    static func convert(_ eur: Int64, to currency: CurrencyCode) -> Int64 {
        let rate: Double = switch currency.code {
        case "GBP": 0.86
        case "USD": 1.08
        case "CAD": 1.47
        case "AUD": 1.64
        case "SEK": 11.3
        case "DKK": 7.46
        case "CHF": 0.95
        default: 1.0
        }
        let converted = Int64((Double(eur) * rate).rounded())
        return max(99, converted / 100 * 100 + 99)
    }

    /// FNV-1a, a stable string hash (Swift's Hasher is randomised per process).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    public static func slugify(_ text: String) -> String {
        var out = ""
        var lastDash = false
        for ch in text.lowercased() {
            if ch.isASCII && (ch.isLetter || ch.isNumber) {
                out.append(ch)
                lastDash = false
            } else if !lastDash && !out.isEmpty {
                out.append("-")
                lastDash = true
            }
        }
        return lastDash ? String(out.dropLast()) : out
    }

    struct TopCategory {
        let name: String
        let kind: CategoryKind
        let rule: VisibilityRule
        let children: [String]
    }

    static let tree: [TopCategory] = [
        TopCategory(name: "Women", kind: .dynamic, rule: .public, children: ["Dresses", "Tops", "Knitwear", "Jeans", "Shoes"]),
        TopCategory(name: "Men", kind: .dynamic, rule: .public, children: ["Shirts", "Trousers", "Jackets", "Knitwear", "Shoes"]),
        TopCategory(name: "Kids", kind: .dynamic, rule: .public, children: ["Baby", "Girls", "Boys"]),
        TopCategory(name: "Home", kind: .dynamic, rule: .public, children: ["Bedding", "Kitchen", "Decor"]),
        TopCategory(name: "Brands", kind: .brand, rule: .public, children: ["Nordvik", "Alta Moda", "Fjellkraft"]),
        TopCategory(name: "Summer Sale", kind: .marketing, rule: .public, children: ["Under 20", "Last Chance"]),
        TopCategory(name: "Wholesale", kind: .dynamic, rule: VisibilityRule(groups: [.wholesale]), children: ["Bulk Basics", "Trade Packs"]),
        TopCategory(name: "Members Club", kind: .marketing, rule: VisibilityRule(groups: [.member, .wholesale]), children: ["Early Access"]),
        TopCategory(name: "US Exclusives", kind: .dynamic, rule: VisibilityRule(markets: ["US"]), children: ["Collabs"]),
    ]

    static let adjectives = ["Classic", "Relaxed", "Slim", "Organic", "Vintage", "Essential", "Cosy", "Tailored", "Everyday", "Heritage", "Lightweight", "Oversized"]
    static let materials = ["Cotton", "Linen", "Merino", "Denim", "Cashmere", "Leather", "Silk", "Wool", "Canvas", "Bamboo"]
    static let nouns = ["Shirt", "Sweater", "Dress", "Jacket", "Trousers", "Scarf", "Sneaker", "Blanket", "Tote", "Cardigan", "Hoodie", "Skirt"]
    static let sizes = ["XS", "S", "M", "L", "XL", "XXL"]
    static let colours = ["black", "white", "navy", "olive", "sand", "red", "grey"]
}
