import MercatoCore
import MercatoJSON
import MercatoStorage
import MercatoAdmin
import MercatoCatalogStore

/// The admin API's JSON: the REST form of the domain values `AdminService` answers with.
enum AdminRenderer {
    static func categories(_ categories: [Category]) -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\"items\":[")
        for (index, category) in categories.enumerated() {
            if index > 0 { json.raw(",") }
            self.category(category, into: &json)
        }
        json.raw("]}")
        return json.bytes
    }

    static func productIDs(_ page: ProductIDPage) -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\"items\":")
        stringList(page.ids.map(\.description), into: &json)
        json.raw(",\"next_cursor\":")
        json.optionalString(page.next?.description)
        json.raw("}")
        return json.bytes
    }

    static func adminToken(_ token: String) -> [UInt8] {
        var json = JSONWriter()
        json.raw("{"); json.key("token"); json.string(token); json.raw("}")
        return json.bytes
    }

    static func category(_ category: Category) -> [UInt8] {
        var json = JSONWriter()
        self.category(category, into: &json)
        return json.bytes
    }

    static func category(_ category: Category, into json: inout JSONWriter) {
        json.raw("{")
        json.key("id"); json.string(category.id.description)
        json.raw(","); json.key("parent_id"); json.optionalString(category.parentID?.description)
        json.raw(","); json.key("slug"); json.string(category.slug)
        json.raw(","); json.key("name"); json.string(category.name)
        json.raw(","); json.key("kind"); json.string(category.kind.rawValue)
        json.raw(","); json.key("position"); json.int(Int64(category.position))
        json.raw(","); json.key("visibility")
        json.raw("{"); json.key("customer_groups")
        stringList(category.visibility.groups.map { $0.map(\.rawValue).sorted() }, into: &json)
        json.raw(","); json.key("markets")
        stringList(category.visibility.markets.map { $0.sorted() }, into: &json)
        json.raw("}}")
    }

    static func product(_ product: AdminProduct) -> [UInt8] {
        var json = JSONWriter(capacity: 2048)
        json.raw("{")
        json.key("id"); json.string(product.id.description)
        json.raw(","); json.key("slug"); json.string(product.slug)
        json.raw(","); json.key("name"); json.string(product.name)
        json.raw(","); json.key("description"); json.string(product.description)
        json.raw(","); json.key("images"); stringList(product.images, into: &json)
        json.raw(","); json.key("position"); json.int(product.position)
        json.raw(","); json.key("status"); json.string(product.status.rawValue)
        json.raw(","); json.key("sales_count"); json.int(product.salesCount)
        json.raw(","); json.key("tax_class"); json.string(product.taxClass.rawValue)
        json.raw(","); json.key("category_ids"); stringList(product.categoryIDs.map(\.description), into: &json)
        json.raw(","); json.key("variants"); json.raw("[")
        for (index, variant) in product.variants.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{")
            json.key("id"); json.string(variant.id.description)
            json.raw(","); json.key("sku"); json.string(variant.sku)
            json.raw(","); json.key("options"); json.rawJSON(variant.optionsJSON)
            json.raw(","); json.key("stock"); json.int(variant.stock)
            json.raw(","); json.key("prices"); json.raw("[")
            for (p, price) in variant.prices.enumerated() {
                if p > 0 { json.raw(",") }
                json.raw("{\"currency\":"); json.string(price.currency.code)
                json.raw(",\"amount\":"); json.int(price.amount); json.raw("}")
            }
            json.raw("]}")
        }
        json.raw("]}")
        return json.bytes
    }

    static func stringList(_ values: [String]?, into json: inout JSONWriter) {
        guard let values else { return json.raw("null") }
        json.raw("[")
        for (index, value) in values.enumerated() {
            if index > 0 { json.raw(",") }
            json.string(value)
        }
        json.raw("]")
    }
}
