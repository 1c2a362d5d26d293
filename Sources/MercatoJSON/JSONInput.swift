import Foundation
import MercatoCore

/// The allowed shape of a request body's keys, checked before typed decoding so a misspelt field
/// is a precise 422 instead of being silently ignored.
public indirect enum KeySchema: Sendable {
    case value
    /// A whole number (JSON has one number type; `1.5` must not become a quantity).
    case integer
    case object([String: KeySchema])
    case array(KeySchema)
    /// An object whose keys are free-form (e.g. variant options).
    case freeObject
}

/// A request body type that knows its allowed keys, so a handler decodes it in one call.
public protocol JSONRequestBody: Decodable, Sendable {
    /// The keys the body may hold; anything else is a 422 naming the field.
    static var schema: KeySchema { get }
}

/// Decodes request bodies: syntax errors are 400, shape and type errors 422 naming the field.
public enum JSONInput {
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    /// Decodes a body against its own schema.
    public static func decode<T: JSONRequestBody>(_ type: T.Type, from data: Data) throws(MercatoError) -> T {
        try decode(type, from: data, schema: T.schema)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, schema: KeySchema) throws(MercatoError) -> T {
        try StrictJSON.validate(data)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw .badRequest("the request body is not valid JSON")
        }
        guard object is [String: Any] else { throw .badRequest("the request body must be a JSON object") }
        try check(object, against: schema, path: "")
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw describe(error)
        } catch {
            throw .badRequest("the request body could not be read")
        }
    }

    static func check(_ value: Any, against schema: KeySchema, path: String) throws(MercatoError) {
        switch schema {
        case .value, .freeObject:
            return
        case .integer:
            if let number = value as? Double, number != number.rounded() {
                throw .validation(field: path, message: "'\(path)' must be a whole number, got \(number)")
            }
        case .object(let fields):
            guard let object = value as? [String: Any] else { return }  // type errors are reported by the decoder
            for key in object.keys.sorted() {
                let field = path.isEmpty ? key : "\(path).\(key)"
                guard let child = fields[key] else { throw .validation(field: field, message: "unknown field '\(field)'") }
                try check(object[key]!, against: child, path: field)
            }
        case .array(let element):
            guard let array = value as? [Any] else { return }
            for (index, item) in array.enumerated() {
                try check(item, against: element, path: "\(path)[\(index)]")
            }
        }
    }

    static func describe(_ error: DecodingError) -> MercatoError {
        func path(_ context: DecodingError.Context, extra: (any CodingKey)? = nil) -> String {
            var parts: [String] = []
            for key in context.codingPath + (extra.map { [$0] } ?? []) {
                if let index = key.intValue { parts.append("[\(index)]") } else { parts.append((parts.isEmpty ? "" : ".") + snake(key.stringValue)) }
            }
            return parts.joined()
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context, extra: key)
            return .validation(field: field, message: "'\(field)' is required")
        case .typeMismatch(let type, let context):
            let field = path(context)
            return .validation(field: field, message: "'\(field)' must be \(describe(type))")
        case .valueNotFound(let type, let context):
            let field = path(context)
            return .validation(field: field, message: "'\(field)' must be \(describe(type)), not null")
        case .dataCorrupted(let context):
            let field = path(context)
            return .validation(field: field, message: "'\(field)' has an invalid value: \(context.debugDescription)")
        @unknown default:
            return .badRequest("the request body could not be read")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type: "an integer"
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: "of type \(type)"
        }
    }

    static func snake(_ camel: String) -> String {
        var out = ""
        for ch in camel {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }
}
