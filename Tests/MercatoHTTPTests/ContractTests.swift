import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoHTTP
import NIOCore
import OpenAPIKit
import Testing
import Yams

/// The API contract itself: its two forms agree, it is valid OpenAPI 3.1, it names exactly the routes the
/// server registers, it is served, and the conformance check really catches answers that break it.
/// (Every other HTTP test checks its answers against it through `Harness`.)
@Suite struct ContractTests {
    @Test func yamlAndJSONFormsAreTheSameDocument() throws {
        let yaml = try String(contentsOf: Contract.yamlURL, encoding: .utf8)
        let json = try Data(contentsOf: Contract.jsonURL)
        // As OpenAPI documents. OpenAPIKit's maps compare in key order, which JSONDecoder does not keep (and it
        // writes `required` in property order), so the two are compared as the JSON they encode to, read back
        // without order.
        let fromYAML = try YAMLDecoder().decode(OpenAPI.Document.self, from: yaml)
        let fromJSON = try JSONDecoder().decode(OpenAPI.Document.self, from: json)
        let same = try Self.unordered(JSONValue.parse(JSONEncoder().encode(fromYAML))) == Self.unordered(JSONValue.parse(JSONEncoder().encode(fromJSON)))
        #expect(same, "openapi.json is out of date: run python3 scripts/openapi-json.py")
        // And as plain trees, so nothing OpenAPIKit does not model can differ either.
        let yamlTree = try Self.tree(try #require(try Yams.load(yaml: yaml)))
        #expect(yamlTree == (try JSONValue.parse(json)), "openapi.json is out of date: run python3 scripts/openapi-json.py")
    }

    @Test func documentIsValidOpenAPI31() throws {
        let document = try Contract.served.get().document
        #expect(document.openAPIVersion.rawValue.hasPrefix("3.1"))
        let warnings = try document.validate(strict: true)
        #expect(warnings.isEmpty, "\(warnings)")
        // Every operation has an id, every response of an operation has a description, errors are problems.
        for (key, operation) in try Contract.served.get().operations {
            #expect(operation.operationId != nil, "\(key) has no operationId")
            for (status, entry) in operation.responses {
                let response = try document.components.lookup(entry)
                if let code = Int(status.rawValue), code >= 400 {
                    #expect(response.content.keys.map(\.rawValue) == ["application/problem+json"], "\(key) \(code) is not a problem")
                }
            }
        }
    }

    @Test func routesAreExactlyTheContractsPaths() async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let deps = try await Harness.dependencies(database: database, options: HTTPOptions())
            let routes = Set(buildRouter(deps).routes.map { "\($0.method.rawValue) \(Contract.template($0.path.description))" })
            let documented = Set(try Contract.served.get().operations.keys)
            #expect(routes.subtracting(documented).isEmpty, "routes missing from openapi.yaml: \(routes.subtracting(documented).sorted())")
            #expect(documented.subtracting(routes).isEmpty, "openapi.yaml describes routes the server lacks: \(documented.subtracting(routes).sorted())")
            #expect(routes.count > 20, "the router lists its routes")
        }
    }

    @Test func documentIsServedWithAStrongETag() async throws {
        try await Harness.withApp(.sqlite, merchants: 1, products: 1) { client, _ in
            let served = try await client.execute(uri: "/openapi.json", method: .get) { $0 }
            #expect(served.status == .ok)
            #expect(served.headers[.cacheControl] == "public, max-age=300")
            #expect(served.headers[.contentType]?.hasPrefix("application/json") == true)
            let etag = try #require(served.headers[.eTag])
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count > 20, "a strong validator, not W/: \(etag)")
            #expect(Array(served.body.readableBytesView) == Array(try Data(contentsOf: Contract.jsonURL)))

            for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let revalidated = try await client.execute(uri: "/openapi.json", method: .get, headers: [.ifNoneMatch: header]) { $0 }
                #expect(revalidated.status == .notModified, "\(header)")
                #expect(revalidated.headers[.eTag] == etag)
                #expect(revalidated.body.readableBytes == 0)
            }
            let changed = try await client.execute(uri: "/openapi.json", method: .get, headers: [.ifNoneMatch: "\"stale\""]) { $0.status }
            #expect(changed == .ok)
        }
    }

    /// The conformance check is only worth something if it fails: answers that break the contract in each way
    /// it checks are caught.
    @Test func conformanceCheckCatchesBrokenAnswers() throws {
        let contract = try Contract.served.get()
        let json = Self.jsonHeaders
        func violations(
            _ body: String, status: Int = 200, headers: HTTPFields = ContractTests.jsonHeaders, route: String = "/v1/admin/products/{id}",
            method: HTTPRequest.Method = .get
        ) -> [String] {
            contract.violations(method: method, route: route, status: status, headers: headers, body: Array(body.utf8))
        }
        let id = "0b6a3c1e-4f0e-4a39-9a51-2f0d1c3b4a5e"
        let good = #"{"id":"\#(id)","slug":"tee","name":"Tee","description":"","images":[],"position":0,"status":"active","sales_count":0,"tax_class":"standard","category_ids":[],"variants":[{"id":"\#(id)","sku":"T-1","options":{"size":"M"},"stock":3,"prices":[{"currency":"EUR","amount":1999}]}]}"#
        #expect(violations(good) == [])
        // The same route written as the router writes it.
        #expect(contract.violations(method: .get, route: "/v1/admin/products/:id", status: 200, headers: json, body: Array(good.utf8)) == [])

        let broken: [(String, String)] = [
            ("an unknown property", good.replacingOccurrences(of: #""slug":"tee","#, with: #""slug":"tee","extra":1,"#)),
            ("a missing required property", good.replacingOccurrences(of: #""slug":"tee","#, with: "")),
            ("a wrong type", good.replacingOccurrences(of: #""stock":3"#, with: #""stock":"3""#)),
            ("a value outside an enum", good.replacingOccurrences(of: #""status":"active""#, with: #""status":"gone""#)),
            ("a malformed uuid", good.replacingOccurrences(of: #"{"id":"\#(id)""#, with: #"{"id":"42""#)),
            ("null where not nullable", good.replacingOccurrences(of: #""name":"Tee""#, with: #""name":null"#)),
            ("a negative sales count", good.replacingOccurrences(of: #""sales_count":0"#, with: #""sales_count":-1"#)),
            ("not JSON", "{"),
        ]
        for (what, body) in broken {
            #expect(!violations(body).isEmpty, "\(what) must be a violation")
        }
        #expect(!violations(good, status: 201).isEmpty, "an undocumented status")
        #expect(!violations(good, route: "/v1/admin/nothing").isEmpty, "an undocumented route")
        #expect(!violations(good, method: .post).isEmpty, "an undocumented method")
        #expect(!violations(good, headers: [.contentType: "text/html"]).isEmpty, "an undocumented content type")
        #expect(!violations(good, headers: [.contentType: "application/json"]).isEmpty, "a missing required header")
        #expect(!violations(good, headers: [.contentType: "application/json", .cacheControl: "public"]).isEmpty, "a wrong header value")
        #expect(!violations("", status: 204, headers: [:], route: "/v1/admin/categories/{id}", method: .delete).isEmpty, "204 without Cache-Control")
        #expect(violations("", status: 204, headers: [.cacheControl: "no-store"], route: "/v1/admin/categories/{id}", method: .delete).isEmpty)
        #expect(!violations("{}", status: 204, headers: [.cacheControl: "no-store"], route: "/v1/admin/categories/{id}", method: .delete).isEmpty, "a body where none is documented")

        let problem: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        let notFound = #"{"type":"https://mercato.dev/problems/not-found","title":"Not found","status":404,"detail":"no"}"#
        #expect(violations(notFound, status: 404, headers: problem).isEmpty)
        #expect(!violations(notFound, status: 404, headers: [.contentType: "application/json", .cacheControl: "no-store"]).isEmpty, "a problem as plain JSON")
        #expect(!violations(#"{"title":"Not found","status":404}"#, status: 404, headers: problem).isEmpty, "a problem without type and detail")
        #expect(contract.violations(method: .get, route: nil, status: 404, headers: problem, body: Array(notFound.utf8)).isEmpty)
        #expect(!contract.violations(method: .get, route: "NotFound", status: 404, headers: [:], body: []).isEmpty, "an unrouted answer without a problem")
        #expect(!violations(notFound, status: 401, headers: problem).isEmpty, "401 without WWW-Authenticate")
    }

    /// The validator's view of JSON must not confuse `true` with `1` (Foundation's `Any` can).
    @Test func jsonValuesKeepBooleansAndNumbersApart() throws {
        let parsed = try JSONValue.parse(Array(#"[true, 1, 1.5, "x", null, {"a": []}]"#.utf8))
        #expect(parsed == .array([.bool(true), .integer(1), .number(1.5), .string("x"), .null, .object(["a": .array([])])]))
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]

    /// The category tree refers to itself: its schema is checked at every depth.
    @Test func recursiveSchemasAreCheckedAtDepth() throws {
        let contract = try Contract.served.get()
        let tree = JSONSchema.reference(.component(named: "CategoryTree"))
        let id = "0b6a3c1e-4f0e-4a39-9a51-2f0d1c3b4a5e"
        let leaf = #"{"id":"\#(id)","slug":"b","name":"B","kind":"brand","children":[]}"#
        let good = #"{"categories":[{"id":"\#(id)","slug":"a","name":"A","kind":"dynamic","children":[\#(leaf)]}]}"#
        #expect(contract.validator.errors(try JSONValue.parse(Array(good.utf8)), tree) == [])
        let bad = good.replacingOccurrences(of: #""kind":"brand""#, with: #""kind":"other""#)
        #expect(contract.validator.errors(try JSONValue.parse(Array(bad.utf8)), tree).count == 1)
    }

    /// `value` with every schema's `required` list sorted (its order means nothing).
    static func unordered(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map(unordered))
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (key, member) in members {
                if key == "required", case .array(let names) = member {
                    result[key] = .array(names.sorted { "\($0)" < "\($1)" })
                } else {
                    result[key] = unordered(member)
                }
            }
            return .object(result)
        default: return value
        }
    }

    /// A YAML tree (as Yams loads it) as a JSON value.
    static func tree(_ node: Any) throws -> JSONValue {
        switch node {
        case is NSNull: return .null
        case let value as Bool: return .bool(value)
        case let value as Int: return .integer(Int64(value))
        case let value as Double: return .number(value)
        case let value as String: return .string(value)
        case let value as [Any]: return .array(try value.map(tree))
        case let value as [String: Any]: return .object(try value.mapValues(tree))
        default: throw ContractTestError.unexpectedYAMLNode("\(type(of: node))")
        }
    }

    enum ContractTestError: Error {
        case unexpectedYAMLNode(String)
    }
}
