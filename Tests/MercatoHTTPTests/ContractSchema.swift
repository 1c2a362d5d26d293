import Foundation
import OpenAPIKit

/// A parsed JSON value that keeps booleans and numbers apart (Foundation's `Any` does not on Linux).
indirect enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Most values are strings and objects: try them first (each failed attempt costs a thrown error).
        if container.decodeNil() { self = .null; return }
        if let value = try? container.decode(String.self) { self = .string(value); return }
        if let value = try? container.decode([String: JSONValue].self) { self = .object(value); return }
        if let value = try? container.decode(Bool.self) { self = .bool(value); return }
        if let value = try? container.decode(Int64.self) { self = .integer(value); return }
        if let value = try? container.decode(Double.self) { self = .number(value); return }
        self = .array(try container.decode([JSONValue].self))
    }

    static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .integer(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value.prefix(60))\""
        case .array(let items): "array of \(items.count)"
        case .object(let members): "object {\(members.keys.sorted().joined(separator: ", "))}"
        }
    }
}

/// Checks JSON values against the contract's schemas: the subset of JSON Schema the contract uses (type and
/// nullable types, required, properties, additionalProperties, enum/const, items, min/max, lengths, item and
/// property counts, pattern, formats uuid/date-time/uri, allOf/oneOf/anyOf/not, `$ref` into the components).
///
/// References are resolved one at a time as the value is walked, not up front: the category tree refers to
/// itself, which OpenAPIKit's whole-document dereferencing refuses.
struct SchemaValidator {
    let components: OpenAPI.Components

    /// Every way `value` breaks `schema`, each prefixed with its JSON path.
    func errors(_ value: JSONValue, _ schema: JSONSchema, at path: String = "$") -> [String] {
        var errors: [String] = []
        check(value, schema, path, &errors)
        return errors
    }

    private func check(_ value: JSONValue, _ schema: JSONSchema, _ path: String, _ errors: inout [String]) {
        if case .reference = schema.value {
            do {
                check(value, try components.lookup(schema), path, &errors)
            } catch {
                errors.append("\(path): unresolvable schema reference (\(error))")
            }
            return
        }
        if value == .null, schema.nullable { return }
        if let allowed = schema.allowedValues, !allowed.contains(where: { Self.value(of: $0) == value }) {
            errors.append("\(path): \(value) is not one of \(allowed.map { "\($0)" }.joined(separator: ", "))")
            return
        }
        switch schema.value {
        case .reference:
            return
        case .null:
            if value != .null { errors.append("\(path): expected null, got \(value)") }
        case .boolean:
            guard case .bool = value else { return errors.append("\(path): expected a boolean, got \(value)") }
        case .integer(_, let context):
            let number: Double
            switch value {
            case .integer(let int): number = Double(int)
            case .number(let double) where double == double.rounded(): number = double
            default: return errors.append("\(path): expected an integer, got \(value)")
            }
            bounds(
                number, minimum: context.minimum.map { (Double($0.value), $0.exclusive) },
                maximum: context.maximum.map { (Double($0.value), $0.exclusive) }, path, &errors)
        case .number(_, let context):
            let number: Double
            switch value {
            case .integer(let int): number = Double(int)
            case .number(let double): number = double
            default: return errors.append("\(path): expected a number, got \(value)")
            }
            bounds(number, minimum: context.minimum.map { ($0.value, $0.exclusive) }, maximum: context.maximum.map { ($0.value, $0.exclusive) }, path, &errors)
        case .string(let core, let context):
            guard case .string(let text) = value else { return errors.append("\(path): expected a string, got \(value)") }
            let length = text.unicodeScalars.count
            if length < context.minLength { errors.append("\(path): shorter than \(context.minLength) characters") }
            if let maximum = context.maxLength, length > maximum { errors.append("\(path): longer than \(maximum) characters") }
            if let pattern = context.pattern, text.range(of: pattern, options: .regularExpression) == nil {
                errors.append("\(path): \"\(text.prefix(60))\" does not match /\(pattern)/")
            }
            if let problem = Self.formatProblem(text, core.formatString) { errors.append("\(path): \(problem)") }
        case .object(_, let context):
            guard case .object(let members) = value else { return errors.append("\(path): expected an object, got \(value)") }
            for name in context.requiredProperties where members[name] == nil {
                errors.append("\(path): missing required property '\(name)'")
            }
            if let maximum = context.maxProperties, members.count > maximum { errors.append("\(path): more than \(maximum) properties") }
            if members.count < context.minProperties { errors.append("\(path): fewer than \(context.minProperties) properties") }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                let memberPath = "\(path).\(name)"
                if let property = context.properties[name] {
                    check(member, property, memberPath, &errors)
                } else {
                    switch context.additionalProperties {
                    case .a(false)?: errors.append("\(path): property '\(name)' is not in the schema")
                    case .b(let extra)?: check(member, extra, memberPath, &errors)
                    case .a(true)?, nil: break
                    }
                }
            }
        case .array(_, let context):
            guard case .array(let items) = value else { return errors.append("\(path): expected an array, got \(value)") }
            if items.count < context.minItems { errors.append("\(path): fewer than \(context.minItems) items") }
            if let maximum = context.maxItems, items.count > maximum { errors.append("\(path): more than \(maximum) items") }
            if let itemSchema = context.items {
                for (index, item) in items.enumerated() { check(item, itemSchema, "\(path)[\(index)]", &errors) }
            }
        case .all(let schemas, _):
            for schema in schemas { check(value, schema, path, &errors) }
        case .one(let schemas, _):
            let matching = schemas.filter { self.errors(value, $0, at: path).isEmpty }.count
            if matching != 1 {
                let detail = matching == 0 ? schemas.map { self.errors(value, $0, at: path).joined(separator: "; ") }.joined(separator: " | ") : "\(matching) match"
                errors.append("\(path): must match exactly one of \(schemas.count) schemas (\(detail))")
            }
        case .any(let schemas, _):
            if !schemas.contains(where: { self.errors(value, $0, at: path).isEmpty }) {
                errors.append("\(path): matches none of \(schemas.count) schemas")
            }
        case .not(let schema, _):
            if self.errors(value, schema, at: path).isEmpty { errors.append("\(path): must not match the schema") }
        case .fragment:
            return
        }
    }

    private func bounds(_ number: Double, minimum: (Double, Bool)?, maximum: (Double, Bool)?, _ path: String, _ errors: inout [String]) {
        if let (low, exclusive) = minimum, exclusive ? number <= low : number < low { errors.append("\(path): \(number) is below the minimum \(low)") }
        if let (high, exclusive) = maximum, exclusive ? number >= high : number > high { errors.append("\(path): \(number) is above the maximum \(high)") }
    }

    static func formatProblem(_ text: String, _ format: String?) -> String? {
        switch format {
        case "uuid":
            return UUID(uuidString: text) == nil ? "\"\(text.prefix(60))\" is not a UUID" : nil
        case "date-time":
            return (try? Date.ISO8601FormatStyle().parse(text)) == nil
                && (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) == nil
                ? "\"\(text.prefix(60))\" is not an RFC 3339 date-time" : nil
        case "uri":
            return URL(string: text)?.scheme == nil ? "\"\(text.prefix(60))\" is not an absolute URI" : nil
        default:
            return nil
        }
    }

    /// An `enum`/`const` entry as a `JSONValue`: the common scalars directly (this runs for every enum value
    /// checked), anything else round-tripped through JSON.
    static func value(of allowed: AnyCodable) -> JSONValue? {
        switch allowed.value {
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let int as Int: return .integer(Int64(int))
        default:
            guard let data = try? JSONEncoder().encode(allowed) else { return nil }
            return try? JSONValue.parse(data)
        }
    }
}
