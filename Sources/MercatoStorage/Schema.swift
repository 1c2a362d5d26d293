import Foundation
import Logging
import MercatoSQL

/// Versioned, idempotent schema migrations for both dialects.
///
/// Listing tables (`listing_entries`, `listing_prices`, `product_prices`) are projections of the
/// catalog kept in the same transaction as every write (see `ListingProjector`): one row per
/// (product, scope) where scope is a category the product is in, any ancestor of it, or the
/// merchant itself (whole catalog). That lets a listing page be one ordered index range.
public enum Schema {
    /// A migration: a version and its statements, with `{uuid}`, `{bool}` and `{include:…}` placeholders.
    struct Migration {
        let version: Int
        let statements: [String]
    }

    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE merchants (
                id {uuid} PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                markets TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """
            CREATE TABLE admin_tokens (
                token_hash TEXT PRIMARY KEY, merchant_id {uuid} NOT NULL REFERENCES merchants(id),
                created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE categories (
                id {uuid} PRIMARY KEY, merchant_id {uuid} NOT NULL REFERENCES merchants(id),
                parent_id {uuid} REFERENCES categories(id), slug TEXT NOT NULL, name TEXT NOT NULL,
                kind TEXT NOT NULL, position BIGINT NOT NULL, allowed_groups TEXT, allowed_markets TEXT,
                effective_mask BIGINT NOT NULL, UNIQUE (merchant_id, slug))
            """,
            """
            CREATE TABLE products (
                id {uuid} PRIMARY KEY, merchant_id {uuid} NOT NULL REFERENCES merchants(id),
                slug TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, images TEXT NOT NULL,
                primary_image TEXT, position BIGINT NOT NULL, created_at BIGINT NOT NULL,
                sales_count BIGINT NOT NULL, status TEXT NOT NULL, updated_at BIGINT NOT NULL,
                UNIQUE (merchant_id, slug))
            """,
            """
            CREATE TABLE product_categories (
                product_id {uuid} NOT NULL REFERENCES products(id),
                category_id {uuid} NOT NULL REFERENCES categories(id),
                PRIMARY KEY (product_id, category_id))
            """,
            "CREATE INDEX product_categories_category ON product_categories (category_id)",
            """
            CREATE TABLE variants (
                id {uuid} PRIMARY KEY, product_id {uuid} NOT NULL REFERENCES products(id),
                merchant_id {uuid} NOT NULL, sku TEXT NOT NULL, options TEXT NOT NULL,
                position BIGINT NOT NULL, stock BIGINT NOT NULL CHECK (stock >= 0),
                UNIQUE (merchant_id, sku))
            """,
            "CREATE INDEX variants_product ON variants (product_id, position)",
            """
            CREATE TABLE variant_prices (
                variant_id {uuid} NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
                currency TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount >= 0),
                PRIMARY KEY (variant_id, currency))
            """,
            """
            CREATE TABLE product_prices (
                product_id {uuid} NOT NULL, currency TEXT NOT NULL, min_amount BIGINT NOT NULL,
                PRIMARY KEY (product_id, currency))
            """,
            """
            CREATE TABLE listing_entries (
                merchant_id {uuid} NOT NULL, scope_id {uuid} NOT NULL, product_id {uuid} NOT NULL,
                position BIGINT NOT NULL, created_at BIGINT NOT NULL, sales_count BIGINT NOT NULL,
                in_stock {bool} NOT NULL, audience_mask BIGINT NOT NULL,
                PRIMARY KEY (product_id, scope_id))
            """,
            "CREATE INDEX listing_by_position ON listing_entries (merchant_id, scope_id, position, product_id) {include:in_stock, audience_mask}",
            "CREATE INDEX listing_by_created ON listing_entries (merchant_id, scope_id, created_at, product_id) {include:in_stock, audience_mask}",
            "CREATE INDEX listing_by_sales ON listing_entries (merchant_id, scope_id, sales_count, product_id) {include:in_stock, audience_mask}",
            """
            CREATE TABLE listing_prices (
                merchant_id {uuid} NOT NULL, scope_id {uuid} NOT NULL, currency TEXT NOT NULL,
                min_amount BIGINT NOT NULL, product_id {uuid} NOT NULL, in_stock {bool} NOT NULL,
                audience_mask BIGINT NOT NULL, PRIMARY KEY (product_id, currency, scope_id))
            """,
            "CREATE INDEX listing_by_price ON listing_prices (merchant_id, scope_id, currency, min_amount, product_id) {include:in_stock, audience_mask}",
        ]),
        // Stock reservations: `variants.stock` is what is still available; a held reservation has
        // already taken its units and gives them back when released or expired.
        Migration(version: 2, statements: [
            """
            CREATE TABLE reservations (
                merchant_id {uuid} NOT NULL REFERENCES merchants(id), id TEXT NOT NULL,
                status TEXT NOT NULL, lines_digest TEXT NOT NULL, expires_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (merchant_id, id))
            """,
            "CREATE INDEX reservations_expiry ON reservations (status, expires_at)",
            """
            CREATE TABLE reservation_lines (
                merchant_id {uuid} NOT NULL, reservation_id TEXT NOT NULL, variant_id {uuid} NOT NULL,
                quantity BIGINT NOT NULL CHECK (quantity > 0), PRIMARY KEY (merchant_id, reservation_id, variant_id),
                FOREIGN KEY (merchant_id, reservation_id) REFERENCES reservations(merchant_id, id))
            """,
        ]),
        // Checkouts and orders. An order row is claimed (status `pending`) before the reservation is
        // committed, so a crash in between is finished by the retry with the same Idempotency-Key;
        // `UNIQUE (checkout_id)` makes one order per checkout, whatever the concurrency.
        Migration(version: 3, statements: [
            "ALTER TABLE products ADD COLUMN tax_class TEXT NOT NULL DEFAULT 'standard'",
            """
            CREATE TABLE checkouts (
                id {uuid} PRIMARY KEY, merchant_id {uuid} NOT NULL REFERENCES merchants(id),
                token_hash TEXT NOT NULL, status TEXT NOT NULL, market TEXT NOT NULL, currency TEXT NOT NULL,
                email TEXT NOT NULL, lines TEXT NOT NULL, shipping_address TEXT, tax TEXT,
                reservation_key TEXT NOT NULL, reservation_expires_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE orders (
                id {uuid} PRIMARY KEY, merchant_id {uuid} NOT NULL REFERENCES merchants(id),
                checkout_id {uuid} NOT NULL UNIQUE REFERENCES checkouts(id), token_hash TEXT NOT NULL,
                idempotency_key TEXT NOT NULL, request_hash TEXT NOT NULL, status TEXT NOT NULL,
                response_status BIGINT, body TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX orders_merchant ON orders (merchant_id, created_at)",
        ]),
        // A version per variant's stock level, bumped by every change of it, so stock levels pushed to
        // the instances' caches can be applied in any order (an older level never overwrites a newer one).
        Migration(version: 4, statements: [
            "ALTER TABLE variants ADD COLUMN stock_version BIGINT NOT NULL DEFAULT 0",
        ]),
        // Placed orders roll into `products.sales_count` (bestselling order) in batches; a flag marks the
        // orders already counted, so every instance may run the roll-up and each order counts once.
        Migration(version: 5, statements: [
            "ALTER TABLE orders ADD COLUMN rolled_up {bool} NOT NULL DEFAULT FALSE",
            "CREATE INDEX orders_to_roll_up ON orders (created_at) WHERE NOT rolled_up",
        ]),
    ]

    /// Rewrites dialect placeholders: UUID and boolean column types, and covering-index columns
    /// (PostgreSQL `INCLUDE`; SQLite has no INCLUDE, so they become trailing key columns, which covers too).
    static func render(_ statement: String, for dialect: SQLDialect) -> String {
        var text = statement
            .replacingOccurrences(of: "{uuid}", with: dialect == .postgres ? "UUID" : "TEXT")
            .replacingOccurrences(of: "{bool}", with: dialect == .postgres ? "BOOLEAN" : "INTEGER")
        if let start = text.range(of: "{include:"), let end = text.range(of: "}", range: start.upperBound..<text.endIndex) {
            let columns = String(text[start.upperBound..<end.lowerBound])
            let replacement = dialect == .postgres ? "INCLUDE (\(columns))" : ""
            text.replaceSubrange(start.lowerBound..<end.upperBound, with: replacement)
            if dialect == .sqlite, let close = text.range(of: ")", options: .backwards, range: text.startIndex..<start.lowerBound) {
                text.replaceSubrange(close, with: ", \(columns))")
            }
        }
        return text
    }

    /// Applies every migration not yet applied, each in its own transaction; safe to run concurrently
    /// from several instances on PostgreSQL (advisory lock) and to re-run.
    @discardableResult
    public static func migrate(_ database: any DatabaseClient, logger: Logger) async throws -> [Int] {
        var applied: [Int] = []
        for migration in migrations {
            let didApply = try await database.transaction { tx -> Bool in
                if tx.dialect == .postgres {
                    try await tx.execute("SELECT pg_advisory_xact_lock(7226410)")
                }
                // Created under the lock: concurrent CREATE IF NOT EXISTS races in PostgreSQL's catalog.
                try await tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
                let existing = try await tx.query("SELECT version FROM schema_migrations WHERE version = $1", .int(Int64(migration.version)))
                guard existing.isEmpty else { return false }
                for statement in migration.statements {
                    try await tx.execute(SQL(render(statement, for: tx.dialect)))
                }
                try await tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    .int(Int64(migration.version)), .int(WallClock.nowMicros())
                )
                // A per-installation secret signs cursors and storefront tokens; all instances share it.
                try await tx.execute(
                    "INSERT INTO settings (key, value) VALUES ('signing_secret', $1) ON CONFLICT (key) DO NOTHING",
                    .text(Secrets.randomToken(bytes: 32))
                )
                return true
            }
            if didApply {
                logger.info("applied migration", metadata: ["version": "\(migration.version)"])
                applied.append(migration.version)
            }
        }
        return applied
    }
}

/// The wall clock in microseconds since 1970, the unit timestamps are stored in (named so it does not
/// shadow the standard library's `Clock`).
public enum WallClock {
    public static func nowMicros() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }
}
