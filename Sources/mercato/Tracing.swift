import Foundation
import Logging
import OTel
import ServiceLifecycle

/// OpenTelemetry tracing: on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (exported over OTLP/HTTP; the
/// standard `OTEL_*` variables apply), off otherwise (the global tracer stays a no-op, at no cost).
enum TracingSetup {
    /// Bootstraps the global tracer for `serviceName` and returns the exporter's Service, or nil when off.
    static func bootstrap(serviceName: String, logger: Logger) throws -> (any Service)? {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !endpoint.isEmpty else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = environment["OTEL_SERVICE_NAME"] ?? serviceName
        // Metrics are Prometheus (/metrics) and logs go to stdout: OpenTelemetry carries traces only.
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        let service = try OTel.bootstrap(configuration: configuration)
        logger.info("exporting traces over OTLP", metadata: ["endpoint": "\(endpoint)", "service": "\(configuration.serviceName)"])
        return service
    }
}
