/// A variant's stock level after a change, with the version the change gave it (`variants.stock_version`).
public struct StockLevel: Sendable, Hashable {
    public var productID: ProductID
    public var variantID: VariantID
    public var stock: Int64
    public var version: Int64

    public init(productID: ProductID, variantID: VariantID, stock: Int64, version: Int64) {
        self.productID = productID
        self.variantID = variantID
        self.stock = stock
        self.version = version
    }
}

/// What a stock movement touched, for the caches: the products whose variant stock changed, the new
/// levels (pushed to every instance), and whether some variant crossed zero (so a product's
/// `in_stock` flag, and with it the membership of `in_stock=true` listings, may have flipped).
public struct StockChange: Sendable, Equatable {
    public var products: [ProductID]
    public var inStockMayHaveChanged: Bool
    public var levels: [StockLevel]

    public init(products: [ProductID], inStockMayHaveChanged: Bool, levels: [StockLevel] = []) {
        self.products = products
        self.inStockMayHaveChanged = inStockMayHaveChanged
        self.levels = levels
    }

    public static let none = StockChange(products: [], inStockMayHaveChanged: false)
    public var isEmpty: Bool { products.isEmpty }
}
