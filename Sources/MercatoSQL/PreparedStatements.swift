import PostgresNIO
import Synchronization

/// Server-side prepared statements for dynamic SQL texts.
///
/// Why: on PostgreSQL an unnamed statement is parsed and planned on every execution; for a listing
/// page planning costs more than executing (measured with pgbench: 2.7k vs 10.5k tps on the same
/// query). PostgresNIO prepares statements per connection but only for types with a *static* SQL text,
/// so hot statements get a slot number here and each slot is a distinct type built from six type-level
/// bits. A slot's text never changes once registered, which is what PostgresNIO's per-connection
/// cache (keyed by name) relies on.
enum PreparedStatements {
    static let capacity = 64

    private static let registry = Mutex<(slots: [String: Int], texts: [String])>(([:], []))

    /// The slot of `text`, registering it on first use; nil when every slot is taken (run unprepared).
    static func slot(for text: String) -> Int? {
        registry.withLock { state in
            if let slot = state.slots[text] { return slot }
            guard state.texts.count < capacity else { return nil }
            state.texts.append(text)
            state.slots[text] = state.texts.count - 1
            return state.texts.count - 1
        }
    }

    static func text(at slot: Int) -> String {
        registry.withLock { $0.texts[slot] }
    }

    /// A statement value whose type encodes `slot`.
    static func statement(slot: Int, bindings: PostgresBindings) -> any SlotStatementProtocol {
        func bit(_ n: Int) -> any SlotBit.Type { (slot >> n) & 1 == 1 ? One.self : Zero.self }
        func make<A: SlotBit, B: SlotBit, C: SlotBit, D: SlotBit, E: SlotBit, F: SlotBit>(
            _: A.Type, _: B.Type, _: C.Type, _: D.Type, _: E.Type, _: F.Type
        ) -> any SlotStatementProtocol {
            SlotStatement<A, B, C, D, E, F>(bindings: bindings)
        }
        return make(bit(0), bit(1), bit(2), bit(3), bit(4), bit(5))
    }
}

/// One binary digit of a slot number, at the type level.
protocol SlotBit { static var value: Int { get } }
enum Zero: SlotBit { static var value: Int { 0 } }
enum One: SlotBit { static var value: Int { 1 } }

/// A prepared statement that yields raw rows.
protocol SlotStatementProtocol: PostgresPreparedStatement where Row == PostgresRow {}

/// The prepared statement of slot `A + 2B + 4C + 8D + 16E + 32F`.
struct SlotStatement<A: SlotBit, B: SlotBit, C: SlotBit, D: SlotBit, E: SlotBit, F: SlotBit>: SlotStatementProtocol {
    typealias Row = PostgresRow
    static var slot: Int { A.value | B.value << 1 | C.value << 2 | D.value << 3 | E.value << 4 | F.value << 5 }
    static var name: String { "mercato_\(slot)" }
    static var sql: String { PreparedStatements.text(at: slot) }

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
