import Foundation

/// Whether this run is CI: `CI` set to 1, true, yes or on (any case), as scripts/postgres.sh reads it.
/// There, a missing service must fail the run rather than skip its half of the suite.
enum ContinuousIntegration {
    static var isActive: Bool {
        ["1", "true", "yes", "on"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "")
    }
}
