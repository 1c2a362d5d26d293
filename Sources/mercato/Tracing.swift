import Foundation
import Logging
import MercatoSettings
import OTel
import ServiceLifecycle

/// OpenTelemetry tracing: on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (exported over OTLP/HTTP; the
/// standard `OTEL_*` variables apply), off otherwise (the global tracer stays a no-op, at no cost).
enum TracingSetup {
    /// Bootstraps the global tracer for `serviceName` and returns the exporter's Service, or nil when off.
    static func bootstrap(serviceName: String, settings: SettingsReader, logger: Logger) throws -> (any Service)? {
        guard let endpoint = try settings.value(MercatoSettings.otlpEndpoint) else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.text("OTEL_SERVICE_NAME") ?? serviceName
        // Set here too: the value may come from a flag or `.env`, which OTel does not read. As for the
        // standard variable, the traces path is appended to the collector's base URL.
        configuration.traces.otlpExporter.endpoint = endpoint.hasSuffix("/v1/traces") ? endpoint : (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/v1/traces"
        // Metrics are Prometheus (/metrics) and logs go to stdout: OpenTelemetry carries traces only.
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        let service = try OTel.bootstrap(configuration: configuration)
        logger.info("exporting traces over OTLP", metadata: ["endpoint": "\(endpoint)", "service": "\(configuration.serviceName)"])
        return service
    }
}
