import Foundation
import HTTPTypes
import Hummingbird
import MercatoHTTP
import NIOCore
import OpenAPIKit
import Synchronization
import Testing

/// The API contract as the tests read it: `openapi.yaml` and the JSON form the server embeds.
struct Contract: Sendable {
    /// The repository root (this file is `Tests/MercatoHTTPTests/ContractConformance.swift`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let yamlURL = root.appendingPathComponent("openapi.yaml")
    static let jsonURL = root.appendingPathComponent("Sources/MercatoHTTP/Resources/openapi.json")

    /// The served document, read once per test run.
    static let served: Result<Contract, any Error> = Result { try Contract(json: Data(contentsOf: jsonURL)) }

    let document: OpenAPI.Document
    let validator: SchemaValidator
    /// Every operation, keyed `METHOD /path/{template}`.
    let operations: [String: OpenAPI.Operation]

    init(json: Data) throws {
        try self.init(document: JSONDecoder().decode(OpenAPI.Document.self, from: json))
    }

    init(document: OpenAPI.Document) throws {
        self.document = document
        validator = SchemaValidator(components: document.components)
        var operations: [String: OpenAPI.Operation] = [:]
        for (path, item) in document.paths {
            for endpoint in try document.components.lookup(item).endpoints {
                operations["\(endpoint.method.rawValue) \(path.rawValue)"] = endpoint.operation
            }
        }
        self.operations = operations
    }

    /// A router path (`/v1/stores/:merchant/…` or `{merchant}`) in the contract's template form.
    static func template(_ route: String) -> String {
        "/" + route.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
    }

    /// Everything wrong with one answer, as the contract sees it; empty when it conforms.
    /// `route` is the router's matched path (nil or `NotFound` when no route matched).
    func violations(method: HTTPRequest.Method, route: String?, status: Int, headers: HTTPFields, body: [UInt8]) -> [String] {
        guard let route, route != "NotFound" else { return unmatched(status: status, headers: headers, body: body) }
        let key = "\(method.rawValue) \(Self.template(route))"
        guard let operation = operations[key] else { return ["\(key) is not in the contract"] }
        let where_ = "\(key) → \(status)"
        guard let entry = operation.responses.first(where: { $0.key.rawValue == String(status) })?.value else {
            return ["\(where_): status \(status) is not documented"]
        }
        let response: OpenAPI.Response
        do { response = try document.components.lookup(entry) } catch { return ["\(where_): \(error)"] }
        var problems: [String] = []
        for (name, entry) in response.headers ?? [:] {
            do {
                problems += try self.header(name, try document.components.lookup(entry), in: headers).map { "\(where_): \($0)" }
            } catch {
                problems.append("\(where_): header \(name): \(error)")
            }
        }
        problems += content(response.content, headers: headers, body: body).map { "\(where_): \($0)" }
        return problems
    }

    /// A request no route took: the router's 404, a 405 with `Allow` for a path that exists under other
    /// methods, or a refusal of its path or query before routing matters (400, 422).
    func unmatched(status: Int, headers: HTTPFields, body: [UInt8]) -> [String] {
        var problems: [String] = []
        if ![400, 404, 405, 422].contains(status) { problems.append("unrouted request answered \(status)") }
        if status == 405, headers[.allow] == nil { problems.append("405 without Allow") }
        let problem = OpenAPI.Content(schema: .reference(.component(named: "Problem")))
        problems += content([.init(rawValue: "application/problem+json")!: .b(problem)], headers: headers, body: body)
        return problems.map { "unrouted → \(status): \($0)" }
    }

    func header(_ name: String, _ header: OpenAPI.Header, in headers: HTTPFields) throws -> [String] {
        guard let fieldName = HTTPField.Name(name) else { return ["'\(name)' is not a valid header name"] }
        guard let value = headers[fieldName] else { return header.required ? ["required header \(name) is missing"] : [] }
        guard case .a(let context) = header.schemaOrContent else { return [] }
        let schema = try document.components.lookup(context.schema)
        return validator.errors(.string(value), schema, at: name)
    }

    func content(_ content: OpenAPI.Content.Map, headers: HTTPFields, body: [UInt8]) -> [String] {
        guard !content.isEmpty else { return body.isEmpty ? [] : ["documented without a body, got \(body.count) bytes"] }
        guard let sent = headers[.contentType] else { return ["no Content-Type"] }
        let mediaType = sent.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased()
        guard let entry = content.first(where: { $0.key.typeAndSubtype.lowercased() == mediaType })?.value else {
            return ["Content-Type \(sent) is not documented (\(content.keys.map(\.rawValue).joined(separator: ", ")))"]
        }
        let media: OpenAPI.Content
        do { media = try document.components.lookup(entry) } catch { return ["\(mediaType): \(error)"] }
        guard mediaType == "application/json" || mediaType.hasSuffix("+json"), let schema = media.schema else { return [] }
        let value: JSONValue
        do { value = try JSONValue.parse(body) } catch { return ["the body is not JSON: \(String(decoding: body.prefix(120), as: UTF8.self))"] }
        return validator.errors(value, schema)
    }
}

/// Contract violations seen while a test ran; the test records them as issues when it ends.
final class ContractLog: Sendable {
    private let seen = Mutex<[String]>([])

    func record(_ violations: [String], request: String) {
        guard !violations.isEmpty else { return }
        seen.withLock { $0 += violations.map { "\(request): \($0)" } }
    }

    var violations: [String] { seen.withLock { $0 } }

    /// One issue per distinct violation, so the test that produced them fails.
    func recordIssues(sourceLocation: SourceLocation = #_sourceLocation) {
        var reported = Set<String>()
        for violation in violations where reported.insert(violation).inserted {
            Issue.record("contract violation: \(violation)", sourceLocation: sourceLocation)
        }
    }
}

/// Wraps the application's responder so that every answer the HTTP suite gets is checked against the contract:
/// the (route, method, status) is documented, and its content type, required headers and body conform.
struct ConformanceResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    let inner: Inner
    let contract: Contract
    let log: ContractLog

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        var response: Response
        do {
            response = try await inner.respond(to: request, context: context)
        } catch {
            // Every error should have become a problem by now; Hummingbird would answer a bare 500.
            log.record(["an error escaped the middleware: \(error)"], request: "\(request.method) \(request.uri.path)")
            throw error
        }
        let collector = BodyCollector()
        try await response.body.write(collector)
        let body = collector.bytes
        response.body = ResponseBody(byteBuffer: body)
        log.record(
            contract.violations(
                method: request.method, route: context.endpointPath, status: response.status.code, headers: response.headers,
                body: Array(body.readableBytesView)),
            request: "\(request.method) \(request.uri)")
        return response
    }
}

/// Gathers a response body so the conformance check can read it before the client does.
final class BodyCollector: ResponseBodyWriter, Sendable {
    private let buffer = Mutex(ByteBuffer())

    func write(_ buffer: ByteBuffer) async throws {
        self.buffer.withLock { collected in _ = collected.writeImmutableBuffer(buffer) }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}

    var bytes: ByteBuffer { buffer.withLock { $0 } }
}

extension Harness {
    /// The application the HTTP tests use: the server's, with every answer checked against the contract
    /// (violations go to `log`; call `log.recordIssues()` when the test is done with the app).
    static func application(_ deps: AppDependencies, contract log: ContractLog) throws -> some ApplicationProtocol {
        let contract = try Contract.served.get()
        return buildApplication(
            deps, wrappingRouter: { ConformanceResponder(inner: $0, contract: contract, log: log) }, hostname: "127.0.0.1", port: 0,
            services: [], logger: logger)
    }
}
