import MercatoCore

/// A strict RFC 8259 check of a request body, run before decoding.
///
/// Foundation's parser on Linux accepts trailing commas and duplicate keys, and `JSONDecoder` then
/// reads the first of two duplicates while a key check over `JSONSerialization` sees the last: a
/// body could pass validation with one value and be stored with another. Strings that decode to
/// control characters are refused here too, because PostgreSQL rejects NUL (a 500 after side effects)
/// and SQLite silently truncates at it (the two backends would disagree).
///
/// Syntax errors are `badRequest` (400); duplicate keys and control characters are `validation`
/// (422) naming the field as `a.b[2].c`.
public enum StrictJSON {
    /// Deepest nesting accepted; request bodies here are a few levels deep.
    public static let maxDepth = 32

    /// Control characters a multi-line text field may hold; every other C0 character and DEL is refused.
    static let allowedControls: Set<UInt32> = [0x09, 0x0A, 0x0D]

    public static func validate(_ bytes: some Collection<UInt8>) throws(MercatoError) {
        var scanner = Scanner(bytes: Array(bytes))
        scanner.skipWhitespace()
        try scanner.value(path: "", depth: 0)
        scanner.skipWhitespace()
        guard scanner.atEnd else { throw scanner.syntax("unexpected data after the JSON value") }
    }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func syntax(_ message: String) -> MercatoError {
            .badRequest("the request body is not valid JSON: \(message) at byte \(index)")
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(MercatoError) {
            guard peek == byte else { throw syntax("expected \(what)") }
            index += 1
        }

        mutating func value(path: String, depth: Int) throws(MercatoError) {
            switch peek {
            case UInt8(ascii: "{"): try object(path: path, depth: depth + 1)
            case UInt8(ascii: "["): try array(path: path, depth: depth + 1)
            case UInt8(ascii: "\""):
                let text = try string()
                if let bad = text.unicodeScalars.first(where: { StrictJSON.isRefusedControl($0) }) {
                    let name = path.isEmpty ? "value" : path
                    throw .validation(field: path, message: "'\(name)' must not contain control characters (found U+\(hex(bad.value)))")
                }
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case let byte? where byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39): try number()
            case nil: throw syntax("unexpected end of input")
            default: throw syntax("unexpected character")
            }
        }

        mutating func object(path: String, depth: Int) throws(MercatoError) {
            guard depth <= StrictJSON.maxDepth else { throw syntax("nesting deeper than \(StrictJSON.maxDepth) levels") }
            index += 1
            skipWhitespace()
            if peek == UInt8(ascii: "}") { index += 1; return }
            var seen = Set<String>()
            while true {
                guard peek == UInt8(ascii: "\"") else {
                    throw syntax(seen.isEmpty ? "expected a key" : "expected a key after ',' (trailing commas are not JSON)")
                }
                let key = try string()
                let field = path.isEmpty ? key : "\(path).\(key)"
                if key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                    throw .validation(field: path, message: "a key of '\(path.isEmpty ? "the body" : path)' contains control characters")
                }
                guard seen.insert(key).inserted else { throw .validation(field: field, message: "duplicate key '\(field)'") }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after a key")
                skipWhitespace()
                try value(path: field, depth: depth)
                skipWhitespace()
                switch peek {
                case UInt8(ascii: ","): index += 1; skipWhitespace()
                case UInt8(ascii: "}"): index += 1; return
                default: throw syntax("expected ',' or '}'")
                }
            }
        }

        mutating func array(path: String, depth: Int) throws(MercatoError) {
            guard depth <= StrictJSON.maxDepth else { throw syntax("nesting deeper than \(StrictJSON.maxDepth) levels") }
            index += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") { index += 1; return }
            var position = 0
            while true {
                if peek == UInt8(ascii: "]") { throw syntax("expected a value after ',' (trailing commas are not JSON)") }
                try value(path: "\(path)[\(position)]", depth: depth)
                position += 1
                skipWhitespace()
                switch peek {
                case UInt8(ascii: ","): index += 1; skipWhitespace()
                case UInt8(ascii: "]"): index += 1; return
                default: throw syntax("expected ',' or ']'")
                }
            }
        }

        mutating func literal(_ word: StaticString) throws(MercatoError) {
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            guard index + expected.count <= bytes.count, bytes[index..<(index + expected.count)].elementsEqual(expected) else {
                throw syntax("unexpected character")
            }
            index += expected.count
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func number() throws(MercatoError) {
            func digits(_ scanner: inout Scanner) -> Int {
                let start = scanner.index
                while let byte = scanner.peek, byte >= 0x30 && byte <= 0x39 { scanner.index += 1 }
                return scanner.index - start
            }
            if peek == UInt8(ascii: "-") { index += 1 }
            if peek == UInt8(ascii: "0") {
                index += 1
                if let byte = peek, byte >= 0x30 && byte <= 0x39 { throw syntax("numbers must not have leading zeros") }
            } else if digits(&self) == 0 {
                throw syntax("expected digits")
            }
            if peek == UInt8(ascii: ".") {
                index += 1
                guard digits(&self) > 0 else { throw syntax("expected digits after '.'") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard digits(&self) > 0 else { throw syntax("expected digits in the exponent") }
            }
        }

        /// Reads a string (the opening quote is at `index`) and returns it decoded.
        mutating func string() throws(MercatoError) -> String {
            index += 1
            var scalars = String.UnicodeScalarView()
            var run = index
            func flush(_ scanner: Scanner, upTo end: Int, into scalars: inout String.UnicodeScalarView) throws(MercatoError) {
                guard run < end else { return }
                guard let text = String(validating: scanner.bytes[run..<end], as: UTF8.self) else {
                    throw scanner.syntax("a string is not valid UTF-8")
                }
                scalars.append(contentsOf: text.unicodeScalars)
            }
            while true {
                guard let byte = peek else { throw syntax("unterminated string") }
                switch byte {
                case UInt8(ascii: "\""):
                    try flush(self, upTo: index, into: &scalars)
                    index += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush(self, upTo: index, into: &scalars)
                    index += 1
                    scalars.append(try escape())
                    run = index
                case 0..<0x20:
                    throw syntax("a raw control character inside a string (escape it)")
                default:
                    index += 1
                }
            }
        }

        mutating func escape() throws(MercatoError) -> Unicode.Scalar {
            guard let byte = peek else { throw syntax("unterminated escape") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let unit = try hex4()
                switch unit {
                case 0xD800...0xDBFF:
                    guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                        throw syntax("a lone surrogate in a \\u escape")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw syntax("a lone surrogate in a \\u escape") }
                    return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
                case 0xDC00...0xDFFF:
                    throw syntax("a lone surrogate in a \\u escape")
                default:
                    return Unicode.Scalar(unit)!
                }
            default:
                throw syntax("an unknown escape")
            }
        }

        mutating func hex4() throws(MercatoError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw syntax("a short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw syntax("a \\u escape needs four hex digits")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }

    /// C0 controls other than tab, line feed and carriage return, and DEL.
    public static func isRefusedControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && !allowedControls.contains(scalar.value)) || scalar.value == 0x7F
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
