import Foundation
import HTTPTypes
import Hummingbird
import MercatoJSON
import NIOCore

/// JSON responses from pre-rendered bytes.
public enum JSONBytes {
    public static func response(_ buffer: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    public static func response(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        response(ByteBuffer(bytes: bytes), status: status, headers: headers)
    }
}

/// Request bodies as JSON: capped in size (413 above the limit) and typed `application/json`.
public enum JSONBody {
    /// The request body, capped; a JSON content type is required when there is a body.
    public static func read(_ request: Request, limit: Int) async throws -> Data {
        if let type = request.headers[.contentType], !isJSON(type) {
            throw Problem(status: .unsupportedMediaType, type: "unsupported-media-type", title: "Unsupported media type", detail: "send the body as application/json")
        }
        let buffer = try await request.body.collect(upTo: limit)
        return Data(buffer: buffer)
    }

    /// The request body decoded against its schema (400 for bad JSON, 422 naming a wrong field).
    public static func decode<Body: JSONRequestBody>(_ type: Body.Type, from request: Request, limit: Int) async throws -> Body {
        try JSONInput.decode(type, from: try await read(request, limit: limit))
    }

    /// Whether a `Content-Type` is `application/json` (any case, any parameters). A prefix test also took
    /// `application/json-seq` or `application/jsonx`, which the contract does not offer.
    public static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }
}
