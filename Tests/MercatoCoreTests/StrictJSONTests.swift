import Foundation
import MercatoCore
import MercatoJSON
import Testing

@Suite("Strict JSON")
struct StrictJSONTests {
    func check(_ text: String) -> MercatoError? {
        do {
            try StrictJSON.validate(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #"{"a": [1, -2.5e3, 0, 0.1, true, false, null, "x\"\\\/\n\r\t\u00e9\ud83e\udde6"]}"#,
        #"  {"nested": {"deeper": [[{}]]}}  "#, #""just a string""#, #"-0"#,
    ])
    func acceptsValidJSON(_ text: String) {
        #expect(check(text) == nil, "\(text)")
    }

    @Test(arguments: [
        #"{"a": 1,}"#, #"[1, 2,]"#, #"{"a": 1"#, #"{a: 1}"#, #"{'a': 1}"#, #"[01]"#, #"[1.]"#, #"[.5]"#, #"[1e]"#, #"[+1]"#,
        #"[NaN]"#, #"[tru]"#, #"{"a": 1} x"#, #"["\x"]"#, #"["\ud800"]"#, #"["\udc00"]"#, #"["\u12"]"#, "[\"a\u{01}b\"]",
        #"{"a" 1}"#, #"[1 2]"#, #"{,}"#, #"[,]"#, "",
    ])
    func refusesInvalidJSONAsBadRequest(_ text: String) {
        guard case .badRequest = check(text) else {
            Issue.record("\(text) was not refused as a bad request: \(String(describing: check(text)))")
            return
        }
    }

    @Test func refusesInvalidUTF8() {
        var bytes = Array(#"{"a": ""#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#""}"#.utf8)
        #expect(throws: MercatoError.self) { try StrictJSON.validate(bytes) }
    }

    @Test func duplicateKeysNameTheField() {
        #expect(check(#"{"quantity": 50, "quantity": 51}"#) == .validation(field: "quantity", message: "duplicate key 'quantity'"))
        #expect(check(#"{"lines": [{"a": 1}, {"b": 1, "b": 2}]}"#) == .validation(field: "lines[1].b", message: "duplicate key 'lines[1].b'"))
        // The same key however it is escaped.
        #expect(check(#"{"ab": 1, "\u0061b": 2}"#) == .validation(field: "ab", message: "duplicate key 'ab'"))
        #expect(check(#"{"a": {"x": 1}, "b": {"x": 1}}"#) == nil, "the same key in two objects is fine")
    }

    @Test func controlCharactersInStringsAreRefusedNamingTheField() {
        #expect(check(#"{"name": "Bad\u0000Name"}"#) == .validation(field: "name", message: "'name' must not contain control characters (found U+0000)"))
        #expect(check(#"{"a": {"b": ["ok", "\u001b[31m"]}}"#) == .validation(field: "a.b[1]", message: "'a.b[1]' must not contain control characters (found U+001B)"))
        #expect(check(#"{"name": "del\u007f"}"#) != nil)
        #expect(check(#"{"name": "back\bspace"}"#) != nil, "\\b and \\f are legal escapes of refused characters")
        #expect(check(#"{"description": "line one\nline two\ttabbed\r\n"}"#) == nil, "line breaks and tabs are text")
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: StrictJSON.maxDepth + 1) + String(repeating: "]", count: StrictJSON.maxDepth + 1)
        #expect(check(deep) != nil)
        let fine = String(repeating: "[", count: StrictJSON.maxDepth) + String(repeating: "]", count: StrictJSON.maxDepth)
        #expect(check(fine) == nil)
    }

    @Test func agreesWithFoundationOnWhatFoundationCallsValid() throws {
        // Every body the strict check accepts must parse in Foundation too (the decoder runs after it).
        for text in [#"{"a": [1, 2, {"b": "c"}], "d": null}"#, #"{"e": "\u00e9\ud83e\udde6"}"#] {
            #expect(check(text) == nil)
            _ = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        }
    }
}
