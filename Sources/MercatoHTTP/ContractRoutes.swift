import Crypto
import HTTPTypes
import Hummingbird
import MercatoHTTPBoundary
import NIOCore

/// `GET /openapi.json`: the API contract (`openapi.yaml` in JSON form, compiled into the binary).
struct ContractRoutes {
    /// The bytes, made once: the route copies nothing per request.
    static let document = ByteBuffer(bytes: PackageResources.openapi_json)
    /// Strong validator: a hash of exactly these bytes.
    static let etag = "\"" + SHA256.hash(data: PackageResources.openapi_json).prefix(16).map { byte in
        let hex = String(byte, radix: 16)
        return byte < 16 ? "0" + hex : hex
    }.joined() + "\""
    static let cacheControl = "public, max-age=300"

    func register(on router: Router<BasicRequestContext>) {
        router.get("/openapi.json") { request, _ in
            let headers: HTTPFields = [.cacheControl: Self.cacheControl, .eTag: Self.etag]
            if let ifNoneMatch = request.headers[.ifNoneMatch], StorefrontRoutes.matches(ifNoneMatch, etag: Self.etag) {
                return Response(status: .notModified, headers: headers)
            }
            return JSONBytes.response(Self.document, headers: headers)
        }
    }
}
