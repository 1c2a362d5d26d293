import Foundation

/// The JSON coders of internal service APIs and stored documents: snake_case keys, stable key order.
public enum WireJSON {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    /// A variant's options as stored (a JSON object of option names to values), for an `Encodable` answer.
    public static func options(_ json: String) throws -> [String: String] {
        try decoder.decode([String: String].self, from: Data(json.utf8))
    }
}
