/// The one writer of RFC 9457 problem bodies: the HTTP boundary's `Problem` renders through it, and so
/// does checkout when it stores a problem as an order's answer for idempotent replay.
public enum ProblemJSON {
    /// Problem types are `https://mercato.dev/problems/<slug>`.
    public static let typePrefix = "https://mercato.dev/problems/"

    /// `{"type", "title", "status", "detail", ...members}`; each member's value is raw JSON.
    public static func body(type slug: String, title: String, status: Int, detail: String, members: [(key: String, json: [UInt8])] = []) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.raw("{"); json.key("type"); json.string(typePrefix + slug)
        json.raw(","); json.key("title"); json.string(title)
        json.raw(","); json.key("status"); json.int(Int64(status))
        json.raw(","); json.key("detail"); json.string(detail)
        for member in members {
            json.raw(","); json.string(member.key); json.raw(":"); json.rawJSON(member.json)
        }
        json.raw("}")
        return json.bytes
    }
}
