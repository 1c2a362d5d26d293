import Foundation
import HTTPTypes

/// One HTTP answer as every test client returns it (the in-process router client and the live-server
/// client alike): status, headers, body, with the API's JSON readable untyped (`object`) or typed (`decode`).
public struct HTTPAnswer: Sendable {
    public let status: HTTPResponse.Status
    public let headers: HTTPFields
    public let body: [UInt8]

    public init(status: HTTPResponse.Status, headers: HTTPFields, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as a JSON object (empty when it is none).
    public var object: [String: Any] {
        guard !body.isEmpty else { return [:] }
        return (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
    }

    /// The body as one of the API's models (`APIModels.swift`), keys in snake case.
    public func decode<Model: Decodable>(_ type: Model.Type) throws -> Model {
        try Self.decoder.decode(type, from: Data(body))
    }

    /// The problem (RFC 9457) this answer carries, if it is one.
    public var problem: Problem? {
        guard headers[.contentType]?.hasPrefix("application/problem+json") == true else { return nil }
        return try? decode(Problem.self)
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }

    /// Listing items (objects), and admin product listings' bare ids.
    public var items: [[String: Any]] { object["items"] as? [[String: Any]] ?? [] }
    public var ids: [String] { object["items"] as? [String] ?? [] }
    /// The problem's `detail`, or "" (for messages of failed expectations).
    public var detail: String { object["detail"] as? String ?? "" }
    /// The last path segment of a problem's `type` (e.g. `insufficient-stock`), or "".
    public var type: String { (object["type"] as? String)?.components(separatedBy: "/").last ?? "" }

    /// Debug headers: the cache tier that answered, SQL statements run, and calls to other services.
    public var cache: String? { header("X-Mercato-Cache") }
    public var statements: Int? { header("X-Mercato-Statements").flatMap(Int.init) }
    public var inventoryCalls: Int? { header("X-Mercato-Inventory-Calls").flatMap(Int.init) }
    public var taxCalls: Int? { header("X-Mercato-Tax-Calls").flatMap(Int.init) }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()
}
