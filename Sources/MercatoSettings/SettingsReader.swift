import Configuration
import Foundation
import SystemPackage

/// Reads Mercato's settings through swift-configuration, from (highest precedence first) command-line
/// flags, the process environment, a `.env` file, and the defaults in `MercatoSettings`. Every value is
/// read as text and turned into its type by its `Setting`, so a value that does not fit is an error
/// rather than silently the default (swift-configuration's typed getters fall back to the default).
public struct SettingsReader: Sendable {
    let reader: ConfigReader

    /// `flags`: values given on the command line, by setting name. `dotEnv`: the variables of a `.env` file.
    public init(flags: [String: String] = [:], environment: [String: String], dotEnv: [String: String] = [:]) {
        self.init(flags: flags, environment: environment, file: EnvironmentVariablesProvider(environmentVariables: dotEnv.filter { !$0.value.isEmpty }))
    }

    init(flags: [String: String], environment: [String: String], file: EnvironmentVariablesProvider) {
        // An empty value counts as unset, so the next source (or the default) decides.
        let flagValues = Dictionary(uniqueKeysWithValues: flags.filter { !$0.value.isEmpty }.map {
            (AbsoluteConfigKey([$0.key]), ConfigValue(.string($0.value), isSecret: false))
        })
        reader = ConfigReader(providers: [
            InMemoryProvider(name: "command line", values: flagValues),
            EnvironmentVariablesProvider(environmentVariables: environment.filter { !$0.value.isEmpty }),
            file,
        ])
    }

    /// The reader a command uses: its flags, this process's environment, and `.env` (in the working
    /// directory) when there is one.
    public static func load(flags: [String: String] = [:], dotEnvPath: String = ".env") async throws -> SettingsReader {
        let file = try await EnvironmentVariablesProvider(environmentFilePath: FilePath(dotEnvPath), allowMissing: true)
        return SettingsReader(flags: flags, environment: ProcessInfo.processInfo.environment, file: file)
    }

    /// The setting's value: the first source that has a non-empty text, else its default.
    public func value<Value>(_ setting: Setting<Value>) throws(SettingError) -> Value {
        try setting.value(of: text(setting.name))
    }

    /// The raw text of a setting, if any source has it.
    public func text(_ name: String) -> String? {
        reader.string(forKey: ConfigKey([name]))
    }
}
