import Foundation
import MercatoCore
import MercatoStorage
import MercatoCatalogStore

/// Field-level validation of admin input, each failure naming the field and the rule.
enum AdminValidation {
    static func slug(_ value: String, field: String) throws(MercatoError) -> String {
        let ok = (1...120).contains(value.utf8.count)
            && value.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
            && !value.hasPrefix("-") && !value.hasSuffix("-")
        guard ok else { throw .validation(field: field, message: "'\(field)' must be 1–120 characters of a–z, 0–9 and inner hyphens") }
        // A slug that parses as a UUID would be ambiguous in /products/{id-or-slug}.
        guard UUID(uuidString: value) == nil else { throw .validation(field: field, message: "'\(field)' must not look like a UUID") }
        return value
    }

    static func text(_ value: String, field: String, max: Int) throws(MercatoError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .validation(field: field, message: "'\(field)' must not be empty") }
        guard value.count <= max else { throw .validation(field: field, message: "'\(field)' must be at most \(max) characters") }
        // One-line fields: the body check already refused other control characters, not line breaks.
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .validation(field: field, message: "'\(field)' must be one line, without control characters")
        }
        return trimmed
    }

    static func position(_ value: Int64?, field: String) throws(MercatoError) -> Int64 {
        let value = value ?? 0
        guard (0...1_000_000_000).contains(value) else { throw .validation(field: field, message: "'\(field)' must be between 0 and 1000000000") }
        return value
    }

    static func id<Tag>(_ value: String, field: String, as: Identifier<Tag>.Type = Identifier<Tag>.self) throws(MercatoError) -> Identifier<Tag> {
        guard let id = Identifier<Tag>(value) else { throw .validation(field: field, message: "'\(field)' must be a UUID, got '\(value)'") }
        return id
    }

    static func category(_ input: CategoryInput) throws(MercatoError) -> CategoryDraft {
        var kind = CategoryKind.dynamic
        if let raw = input.kind {
            guard let parsed = CategoryKind(rawValue: raw) else {
                throw .validation(field: "kind", message: "'kind' must be one of dynamic, brand, marketing")
            }
            kind = parsed
        }
        var rule = VisibilityRule.public
        if let visibility = input.visibility {
            if let groups = visibility.customerGroups {
                guard !groups.isEmpty else { throw .validation(field: "visibility.customer_groups", message: "an empty list would hide the category from everyone; omit it for all groups") }
                var set = Set<CustomerGroup>()
                for name in groups {
                    guard let group = CustomerGroup(rawValue: name) else {
                        throw .validation(field: "visibility.customer_groups", message: "unknown customer group '\(name)'; use \(CustomerGroup.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    set.insert(group)
                }
                rule.groups = set
            }
            if let markets = visibility.markets {
                guard !markets.isEmpty else { throw .validation(field: "visibility.markets", message: "an empty list would hide the category from everyone; omit it for all markets") }
                var set = Set<String>()
                for code in markets {
                    guard let market = Market.named(code) else { throw .validation(field: "visibility.markets", message: "unknown market '\(code)'") }
                    set.insert(market.code)
                }
                rule.markets = set
            }
        }
        return CategoryDraft(
            slug: try slug(input.slug, field: "slug"), name: try text(input.name, field: "name", max: 200), kind: kind,
            parentID: try input.parentId.map { value throws(MercatoError) in try id(value, field: "parent_id", as: CategoryID.self) },
            position: try position(input.position, field: "position"), visibility: rule)
    }

    static func status(_ value: String?, field: String) throws(MercatoError) -> ProductStatus? {
        guard let value else { return nil }
        guard let status = ProductStatus(rawValue: value) else { throw .validation(field: field, message: "'\(field)' must be one of draft, active, archived") }
        return status
    }

    static func images(_ value: [String]?, field: String) throws(MercatoError) -> [String]? {
        guard let value else { return nil }
        guard value.count <= 20 else { throw .validation(field: field, message: "at most 20 images") }
        for (index, url) in value.enumerated() {
            guard url.count <= 2048, url.hasPrefix("https://") || url.hasPrefix("http://"), URL(string: url)?.host != nil else {
                throw .validation(field: "\(field)[\(index)]", message: "must be an absolute http(s) URL")
            }
        }
        return value
    }

    static func categoryIDs(_ value: [String]?, field: String) throws(MercatoError) -> [CategoryID]? {
        guard let value else { return nil }
        guard value.count <= 50 else { throw .validation(field: field, message: "at most 50 categories") }
        var ids: [CategoryID] = []
        for (index, raw) in value.enumerated() { ids.append(try id(raw, field: "\(field)[\(index)]")) }
        return ids
    }

    static func sku(_ value: String, field: String) throws(MercatoError) -> String {
        let ok = (1...64).contains(value.utf8.count) && value.utf8.allSatisfy {
            ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 || $0 == 46
        }
        guard ok else { throw .validation(field: field, message: "'\(field)' must be 1–64 characters of letters, digits, '-', '_' and '.'") }
        return value
    }

    static func options(_ value: [String: String], field: String) throws(MercatoError) -> [VariantOption] {
        guard value.count <= 10 else { throw .validation(field: field, message: "at most 10 options") }
        var options: [VariantOption] = []
        for (name, optionValue) in value.sorted(by: { $0.key < $1.key }) {
            guard (1...50).contains(name.count), (1...100).contains(optionValue.count) else {
                throw .validation(field: "\(field).\(name)", message: "option names must be 1–50 and values 1–100 characters")
            }
            options.append(VariantOption(name: name, value: optionValue))
        }
        return options
    }

    static func money(_ input: MoneyInput, field: String) throws(MercatoError) -> Money {
        let prefix = field.isEmpty ? "" : "\(field)."
        guard let currency = CurrencyCode(input.currency), Market.currencies.contains(currency) else {
            throw .validation(field: "\(prefix)currency", message: "unsupported currency '\(input.currency)'; use one of \(Market.currencies.map(\.code).joined(separator: ", "))")
        }
        guard (0...1_000_000_000_000).contains(input.amount) else {
            throw .validation(field: "\(prefix)amount", message: "'amount' is in minor units and must be between 0 and 1000000000000")
        }
        return Money(currency: currency, amount: input.amount)
    }

    static func variant(_ input: VariantInput, field: String) throws(MercatoError) -> VariantDraft {
        let prefix = field.isEmpty ? "" : "\(field)."
        guard !input.prices.isEmpty else { throw .validation(field: "\(prefix)prices", message: "a variant needs at least one price") }
        var prices: [Money] = []
        for (index, price) in input.prices.enumerated() {
            let money = try money(price, field: "\(prefix)prices[\(index)]")
            guard !prices.contains(where: { $0.currency == money.currency }) else {
                throw .validation(field: "\(prefix)prices[\(index)].currency", message: "duplicate price for \(money.currency)")
            }
            prices.append(money)
        }
        let stock = input.stock ?? 0
        guard (0...1_000_000_000).contains(stock) else { throw .validation(field: "\(prefix)stock", message: "'stock' must be between 0 and 1000000000") }
        return VariantDraft(
            sku: try sku(input.sku, field: "\(prefix)sku"), options: try options(input.options ?? [:], field: "\(prefix)options"),
            prices: prices, stock: stock)
    }

    static func product(_ input: ProductInput) throws(MercatoError) -> ProductDraft {
        guard (1...100).contains(input.variants.count) else { throw .validation(field: "variants", message: "a product needs 1 to 100 variants") }
        var variants: [VariantDraft] = []
        for (index, variant) in input.variants.enumerated() {
            let draft = try self.variant(variant, field: "variants[\(index)]")
            guard !variants.contains(where: { $0.sku == draft.sku }) else {
                throw .validation(field: "variants[\(index)].sku", message: "duplicate SKU '\(draft.sku)'")
            }
            variants.append(draft)
        }
        let salesCount = input.salesCount ?? 0
        guard salesCount >= 0 else { throw .validation(field: "sales_count", message: "'sales_count' must not be negative") }
        var draft = ProductDraft(
            slug: try slug(input.slug, field: "slug"), name: try text(input.name, field: "name", max: 200),
            description: input.description ?? "", images: try images(input.images, field: "images") ?? [],
            position: try position(input.position, field: "position"), status: try status(input.status, field: "status") ?? .active,
            salesCount: salesCount, categoryIDs: try categoryIDs(input.categoryIds, field: "category_ids") ?? [], variants: variants)
        draft.taxClass = try taxClass(input.taxClass) ?? .standard
        return draft
    }

    /// An on-hand quantity a merchant may set.
    static func stockQuantity(_ quantity: Int64) throws(MercatoError) -> Int64 {
        guard (0...1_000_000_000).contains(quantity) else {
            throw .validation(field: "quantity", message: "'quantity' must be between 0 and 1000000000")
        }
        return quantity
    }

    static func taxClass(_ value: String?) throws(MercatoError) -> TaxClass? {
        guard let value else { return nil }
        guard let parsed = TaxClass(rawValue: value) else {
            throw .validation(field: "tax_class", message: "'tax_class' must be one of \(TaxClass.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return parsed
    }

    static func patch(_ input: ProductPatchInput) throws(MercatoError) -> ProductPatch {
        var patch = ProductPatch(
            slug: try input.slug.map { value throws(MercatoError) in try slug(value, field: "slug") },
            name: try input.name.map { value throws(MercatoError) in try text(value, field: "name", max: 200) },
            description: input.description,
            images: try images(input.images, field: "images"),
            position: try input.position.map { value throws(MercatoError) in try position(value, field: "position") },
            status: try status(input.status, field: "status"),
            categoryIDs: try categoryIDs(input.categoryIds, field: "category_ids"))
        patch.taxClass = try taxClass(input.taxClass)
        return patch
    }
}
