import Foundation

/// One setting of Mercato: its name (the environment variable, also its key in a `.env` file), its
/// command-line flag if it has one, what it means, its default, and how its text becomes a value. Every
/// setting reads the same way: a missing or empty value is the default, an invalid one is an error that
/// names the setting, what it accepts and what it got.
public struct Setting<Value: Sendable>: Sendable {
    public let name: String
    /// The flag of `mercato serve` and the other commands that take it, without the dashes.
    public let flag: String?
    public let help: String
    /// The default as the documentation shows it.
    public let defaultText: String
    let defaultValue: Value
    /// What a valid value looks like, for the error message.
    let expectation: String
    let parse: @Sendable (String) -> Value?

    init(
        _ name: String, flag: String? = nil, default defaultValue: Value, shown defaultText: String, expects expectation: String, help: String,
        parse: @escaping @Sendable (String) -> Value?
    ) {
        self.name = name
        self.flag = flag
        self.help = help
        self.defaultText = defaultText
        self.defaultValue = defaultValue
        self.expectation = expectation
        self.parse = parse
    }

    /// The value of `text`, or the error that says why it is not one.
    func value(of text: String?) throws(SettingError) -> Value {
        guard let text, !text.isEmpty else { return defaultValue }
        guard let value = parse(text) else { throw SettingError(name: name, flag: flag, expectation: expectation, text: text) }
        return value
    }

    /// The description of this setting in `--help` and in the documentation.
    public var documentation: SettingDocumentation {
        SettingDocumentation(name: name, flag: flag, defaultText: defaultText, help: help)
    }
}

/// A setting as `--help` and the README list it.
public struct SettingDocumentation: Sendable, Equatable {
    public let name: String
    public let flag: String?
    public let defaultText: String
    public let help: String
}

/// An invalid value of a setting.
public struct SettingError: Error, Equatable, CustomStringConvertible {
    public let name: String
    public let flag: String?
    public let expectation: String
    public let text: String

    public var description: String {
        "\(name)\(flag.map { " (--\($0))" } ?? "") must be \(expectation), not '\(text)'"
    }
}

extension Setting where Value == Int {
    /// A whole number within `range`.
    static func integer(_ name: String, flag: String? = nil, default value: Int, range: ClosedRange<Int>, unit: String = "a number", help: String) -> Setting {
        Setting(name, flag: flag, default: value, shown: String(value), expects: "\(unit) from \(range.lowerBound) to \(range.upperBound)", help: help) { text in
            Int(text).flatMap { range.contains($0) ? $0 : nil }
        }
    }
}

extension Setting where Value == Double {
    /// A finite number within `range`.
    static func number(_ name: String, flag: String? = nil, default value: Double, shown: String, range: ClosedRange<Double>, unit: String, help: String) -> Setting {
        Setting(name, flag: flag, default: value, shown: shown, expects: "\(unit) from \(range.lowerBound.plainText) to \(range.upperBound.plainText)", help: help) { text in
            Double(text).flatMap { $0.isFinite && range.contains($0) ? $0 : nil }
        }
    }
}

extension Setting where Value == String {
    /// Any text; empty means the default.
    static func text(_ name: String, flag: String? = nil, default value: String, help: String) -> Setting {
        Setting(name, flag: flag, default: value, shown: value, expects: "any text", help: help) { $0 }
    }

    /// One of `choices`, in any case (the value is lowercased).
    static func choice(_ name: String, flag: String? = nil, default value: String, of choices: [String], help: String) -> Setting {
        Setting(name, flag: flag, default: value, shown: value, expects: "one of \(choices.joined(separator: ", "))", help: help) { text in
            choices.contains(text.lowercased()) ? text.lowercased() : nil
        }
    }
}

extension Setting where Value == String? {
    /// Optional text: unset (or empty) is nil.
    static func optionalText(_ name: String, flag: String? = nil, expects expectation: String = "any text", help: String, valid: @escaping @Sendable (String) -> Bool = { _ in true }) -> Setting {
        // `.some(nil)` would read as a valid "unset": an invalid text must be `.none`.
        Setting(name, flag: flag, default: nil, shown: "unset", expects: expectation, help: help) { text -> String?? in valid(text) ? .some(text) : .none }
    }

    /// One of `choices` or unset.
    static func optionalChoice(_ name: String, flag: String? = nil, of choices: [String], shown: String = "unset", help: String) -> Setting {
        Setting(name, flag: flag, default: nil, shown: shown, expects: "one of \(choices.joined(separator: ", "))", help: help) { text -> String?? in
            choices.contains(text.lowercased()) ? .some(text.lowercased()) : .none
        }
    }
}

extension Setting where Value == Bool {
    /// `on` or `off`.
    static func toggle(_ name: String, flag: String? = nil, default value: Bool, help: String) -> Setting {
        Setting(name, flag: flag, default: value, shown: value ? "on" : "off", expects: "on or off", help: help) { text in
            switch text.lowercased() {
            case "on": true
            case "off": false
            default: nil
            }
        }
    }
}

extension Setting where Value == [String] {
    /// A comma-separated list; blanks around items are dropped, and so are empty items.
    static func list(_ name: String, flag: String? = nil, help: String) -> Setting {
        Setting(name, flag: flag, default: [], shown: "unset", expects: "a comma-separated list", help: help) { text in
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}

extension Double {
    /// Without a fraction when it has none (`50`, not `50.0`).
    var plainText: String { self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self) }
}

/// The unit a duration setting is written in.
public enum DurationUnit: Sendable {
    case seconds, milliseconds

    var name: String { self == .seconds ? "seconds" : "milliseconds" }

    func duration(_ count: Int) -> Duration { self == .seconds ? .seconds(count) : .milliseconds(count) }

    /// `duration` in whole units (a default that is not a whole number of them is a programming error).
    func count(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(self == .seconds ? seconds : seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}

extension Setting where Value == Duration {
    /// A whole number of `unit`s within `range`.
    static func duration(
        _ name: String, flag: String? = nil, default value: Duration, unit: DurationUnit, range: ClosedRange<Int>, help: String
    ) -> Setting {
        let count = unit.count(value)
        return Setting(name, flag: flag, default: value, shown: String(count), expects: "a number of \(unit.name) from \(range.lowerBound) to \(range.upperBound)", help: help) { text in
            Int(text).flatMap { range.contains($0) ? unit.duration($0) : nil }
        }
    }
}
