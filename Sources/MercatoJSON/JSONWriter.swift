import MercatoCore

/// Appends JSON to a byte array directly: storefront responses are built once per cache fill,
/// so there is no Encodable machinery or intermediate object graph on the hot path.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends already-valid JSON (e.g. a stored JSON column).
    public mutating func rawJSON(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends already-valid JSON bytes.
    public mutating func rawJSON(_ json: [UInt8]) {
        bytes.append(contentsOf: json)
    }

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escaping: copy them in one go.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func optionalString(_ value: String?) {
        if let value { string(value) } else { raw("null") }
    }

    public mutating func int(_ value: Int64) {
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// `"key":` — keys are static so they never need escaping.
    public mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
    }
}

extension VariantOption {
    /// Options as one JSON object with names in sorted order, `{"colour":"navy","size":"M"}`: the form stored and served.
    public static func jsonObject(_ options: [VariantOption]) -> String {
        var writer = JSONWriter(capacity: 64)
        writer.raw("{")
        for (index, option) in options.sorted(by: { $0.name < $1.name }).enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(option.name)
            writer.raw(":")
            writer.string(option.value)
        }
        writer.raw("}")
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
