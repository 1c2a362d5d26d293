import MercatoCore
import MercatoSQL

// The domain's identifiers in and out of SQL: the SQL layer itself knows no domain types.

extension ResultRow {
    public func id<Tag>(_ index: Int, as: Identifier<Tag>.Type = Identifier<Tag>.self) throws -> Identifier<Tag> {
        switch values[index] {
        case .uuid(let u): return Identifier(u)
        case .text(let s): if let id = Identifier<Tag>(s) { return id }
        default: break
        }
        throw StorageError.decoding("column \(index) is not a UUID: \(values[index])")
    }

    public func optionalID<Tag>(_ index: Int, as: Identifier<Tag>.Type = Identifier<Tag>.self) throws -> Identifier<Tag>? {
        if case .null = values[index] { return nil }
        return try id(index, as: Identifier<Tag>.self)
    }
}

extension Identifier {
    /// This identifier as a bind value.
    public var sql: SQLValue { .uuid(uuid) }
}

extension Optional {
    /// An optional identifier or text as a bind value (NULL when nil).
    public func sqlValue<Tag>() -> SQLValue where Wrapped == Identifier<Tag> {
        switch self {
        case .some(let id): .uuid(id.uuid)
        case .none: .null
        }
    }
}
