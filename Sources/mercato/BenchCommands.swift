import ArgumentParser
import Foundation
import MercatoBench

/// `mercato bench`: load generator, before/after comparison, CI gate.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Mercato: open-loop load with a Zipfian workload, before/after comparisons, and the CI performance gate.",
        subcommands: [BenchRun.self, BenchCompare.self, BenchGate.self, BenchEdgePairs.self], defaultSubcommand: BenchRun.self)
}

/// Workload flags shared by `bench run` and `bench compare`.
struct WorkloadOptions: ParsableArguments {
    @Option(help: "Store (merchant slug) to load.") var store = "demo"
    @Option(help: "Seconds of load.") var duration: Double = 20
    @Option(help: "Seconds of the same workload run first and left out of every figure (steady state).") var warmup: Double = 0
    @Option(help: "Open loop: operations started per second (latency counts from each scheduled start).") var rate: Double = 200
    @Flag(help: "Closed loop instead: each connection starts its next operation when the last ended (maximum throughput).") var closed = false
    @Option(help: "HTTP connections.") var connections = 32
    @Option(help: ArgumentHelp(
        "Operation weights, e.g. listing=55,detail=35,write=1.",
        discussion: "Reads: listing, detail, categories. checkout: create → address → complete. Admin writes, each its own kind: "
            + "price, stock, edit (product name/description), assign (category assignment), create (new product), archive, category (rename or move). "
            + "write=N spreads N over the write kinds in the default proportions."))
    var mix = WorkloadMix().description
    @Option(help: "Products whose details the run reads, the first N in catalog order (default: the whole catalog).") var maxProducts: Int?
    @Option(help: "Zipf exponent of product and category popularity.") var zipf = 0.99
    @Option(help: "Random seed: the same seed replays the same operations.") var seed: UInt64 = 42
    @Option(help: "Admin token of the store, for write operations (default: the one the server printed, if started by bench).") var token: String?
    @Option(help: "Seconds of closed-loop /health afterwards, as this machine's ceiling (0: skip).") var healthSeconds: Double = 3
    @Option(help: "Write every figure as JSON to this file.") var json: String?

    func settings(target: String, token: String?, edge: String? = nil) throws -> RunSettings {
        RunSettings(
            target: target, store: store, load: closed ? .closedLoop(connections: connections) : .openLoop(rate: rate), duration: duration,
            connections: connections, mix: try WorkloadMix.parse(mix), zipf: zipf, seed: seed, adminToken: self.token ?? token,
            maxProducts: maxProducts, healthSeconds: healthSeconds, progress: true, warmup: warmup, edge: edge)
    }
}

/// `mercato bench run --target URL`: one run against a running server.
struct BenchRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Load a running server and print the key metrics.")
    @Option(help: "Base URL of the server (loopback).") var target = "http://127.0.0.1:8080"
    @Option(help: ArgumentHelp(
        "An edge (Varnish with deploy/varnish/mercato.vcl, e.g. scripts/varnish.sh) in front of --target: storefront reads go through it.",
        discussion: "Writes and checkouts go to --target, which must purge the edge (MERCATO_EDGE_PURGE_URLS). The report adds the edge's hit rate, "
            + "origin requests per edge read and the purges' acknowledgement latency."))
    var edge: String?
    @OptionGroup var workload: WorkloadOptions

    func run() async throws {
        let report = try await BenchRunner.run(try workload.settings(target: target, token: nil, edge: edge))
        FileHandle.standardError.write(Data("\n".utf8))
        print(report.markdown())
        if let path = workload.json { try report.json().write(to: URL(fileURLWithPath: path)) }
    }
}

/// `mercato bench compare`: the baseline architecture against the full one, same workload, back to back.
struct BenchCompare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Start the server twice (baseline: cache off, sequential checkout; full: as configured) and compare them under the same workload.",
        discussion: "Uses DATABASE_URL (both runs) and REDIS_URL (full run only) from the environment when set; embedded SQLite otherwise. "
            + "In Redis the run uses its own key prefix, so nothing an earlier run cached is served.")
    @OptionGroup var workload: WorkloadOptions
    @Option(help: "Run inventory and tax as separate processes with this injected latency (e.g. 120ms..200ms).") var serviceLatency: String?
    @Option(help: "Folder for the embedded database and server logs (default: a new temporary folder).") var dataDir: String?
    @Flag(help: ArgumentHelp(
        "Also run the full architecture behind a Varnish edge (scripts/varnish.sh), storefront reads through it.",
        discussion: "The after server purges the edge (MERCATO_EDGE_PURGE_URLS); after its direct run, the same workload runs again with "
            + "storefront reads through the edge, and a third table reports the edge's answers. Needs varnish and varnish-modules."))
    var edge = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let directory = dataDir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("mercato-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let environments = ComparisonEnvironments(environment: environment)

        var reports: [(String, BenchReport)] = []
        var token = workload.token
        let edgePort = edge ? try StartedEdge.freePort() : nil
        var afterEnvironment = environments.after
        if let edgePort { afterEnvironment["MERCATO_EDGE_PURGE_URLS"] = "http://127.0.0.1:\(edgePort)" }
        for (name, env) in [("before", environments.before), ("after", afterEnvironment)] {
            FileHandle.standardError.write(Data("[bench] starting the \(name) server (\(env.keys.sorted().joined(separator: ", ")))\n".utf8))
            let server = try await StartedServer.start(dataDirectory: directory, environment: env, serviceLatency: serviceLatency, name: name)
            token = token ?? server.adminToken
            var started: StartedEdge?
            do {
                if name == "after", let edgePort {
                    started = try await StartedEdge.start(port: edgePort, backend: server.url, directory: directory)
                }
                let report = try await BenchRunner.run(try workload.settings(target: server.url, token: token))
                FileHandle.standardError.write(Data("\n".utf8))
                reports.append((name, report))
                if let started {
                    FileHandle.standardError.write(Data("[bench] the same workload with storefront reads through the edge \(started.url)\n".utf8))
                    let through = try await BenchRunner.run(try workload.settings(target: server.url, token: token, edge: started.url))
                    FileHandle.standardError.write(Data("\n".utf8))
                    reports.append(("edge", through))
                }
                await started?.stop()
                server.stop()
            } catch {
                await started?.stop()
                server.stop()
                throw error
            }
        }
        let (before, after) = (reports[0].1, reports[1].1)
        print(before.markdown(title: "Before: cache off, sequential checkout\(serviceLatency.map { ", inventory/tax latency \($0)" } ?? "")"))
        print("")
        print(after.markdown(title: "After: full architecture\(serviceLatency.map { ", inventory/tax latency \($0)" } ?? "")"))
        print("")
        print(BenchComparison(before: before, after: after).markdown())
        let throughEdge = reports.first { $0.0 == "edge" }?.1
        if let throughEdge {
            print("")
            print(throughEdge.markdown(title: "After, storefront reads through a Varnish edge"))
            print("")
            print(BenchComparison.edgeLine(direct: after, edge: throughEdge))
        }
        if let path = workload.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            var all = ["before": before, "after": after]
            if let throughEdge { all["edge"] = throughEdge }
            try encoder.encode(all).write(to: URL(fileURLWithPath: path))
        }
    }
}

/// `mercato bench gate`: the fixed scenario CI runs, compared with the committed baseline.
struct BenchGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Run the fixed CI scenario on embedded defaults and fail if a deterministic figure differs from the baseline.")
    @Option(help: "Baseline file.") var baseline = "bench/baseline.json"
    @Flag(help: "Write the measured figures as the new baseline instead of comparing (commit the diff).") var updateBaseline = false
    @Option(help: "Operations in the deterministic scenario (one connection, fixed seed).") var operations = 1500
    @Option(help: ArgumentHelp(
        "A running server to gate instead of starting one.",
        discussion: "It must be freshly started on the demo seed (an empty database) with MERCATO_SALES_ROLLUP_SECONDS=0 and the other settings at their "
            + "defaults: the baseline's counters describe that server. The gate refuses a target whose /metrics show sales roll-up statements during the scenario."))
    var target: String?
    @Option(help: "Admin token of the demo store on --target (required with --target: the scenario's writes need it).") var token: String?

    func validate() throws {
        if target != nil, token == nil {
            throw ValidationError("--target needs --token: without the store's admin token the scenario's writes drop out and no figure can match the baseline")
        }
        if target == nil, token != nil { throw ValidationError("--token is for --target; the server the gate starts prints its own") }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mercato-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var server: StartedServer?
        if target == nil {
            FileHandle.standardError.write(Data("[gate] starting mercato serve on embedded defaults\n".utf8))
            // The sales roll-up runs on a timer: off here, so the scenario's figures do not depend on when it ran.
            server = try await StartedServer.start(
                dataDirectory: directory, environment: ["MERCATO_SALES_ROLLUP_SECONDS": "0"], serviceLatency: nil, name: "gate")
        }
        defer { server?.stop() }
        let url = target ?? server!.url
        // Deterministic part: one connection, a fixed number of operations, a fixed seed.
        let deterministic = try await BenchRunner.run(try Gate.scenario(target: url, adminToken: token ?? server?.adminToken, operations: operations))
        // A target running the sales roll-up gives other figures than the baseline's server: refuse it. Its
        // statements show in /metrics under their label as soon as one tick ran during the scenario.
        if target != nil, let rollup = deterministic.server?.backgroundStatements["rollup"], rollup > 0 {
            FileHandle.standardError.write(Data(
                "[gate] --target runs the sales roll-up (\(Int(rollup)) background statements under work=\"rollup\" during the scenario); start it with MERCATO_SALES_ROLLUP_SECONDS=0\n".utf8))
            throw ExitCode(2)
        }
        // Timing part: cached listings against /health at the same concurrency, several short samples in
        // this run; their median is the figure, so one noisy sample on a shared CI machine moves nothing.
        var ratios: [Double] = []
        var timing: BenchReport?
        for sample in 0..<Gate.timingSamples {
            let report = try await BenchRunner.run(RunSettings(
                target: url, load: .closedLoop(connections: 8), duration: 2, connections: 8,
                mix: WorkloadMix.reads(listing: 1), seed: 7 &+ UInt64(sample), healthSeconds: 2, progress: false))
            ratios.append(report.listingShareOfHealth ?? 0)
            timing = report
        }
        let median = Gate.median(ratios) ?? 0
        let figures = GateFigures(deterministic: deterministic, timing: ["cached_listing_over_health": median])
        print(deterministic.markdown(title: "Gate scenario (deterministic: 1 connection, \(operations) operations, seed 42)"))
        print("")
        if let timing { print(timing.markdown(title: "Gate timing, last of \(Gate.timingSamples) samples (cached listings vs /health, 8 connections)")) }
        print(String(format: "timing samples (cached listing req/s over /health req/s): %@; median %.3f", ratios.map { String(format: "%.3f", $0) }.joined(separator: ", "), median))
        print("")
        let file = URL(fileURLWithPath: baseline)
        if updateBaseline {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Gate.save(figures, to: file)
            print("baseline written to \(baseline); review and commit the diff")
            return
        }
        let verdict = Gate.compare(figures, baseline: try Gate.load(file))
        for line in verdict.checked { print("ok    \(line)") }
        for line in verdict.warnings { print("WARN  \(line) (timing: not a failure, CI machines are noisy)") }
        for line in verdict.failures { print("FAIL  \(line)") }
        guard verdict.passed else {
            print("gate failed: a deterministic figure changed. If the change is intended, run `mercato bench gate --update-baseline` and commit \(baseline).")
            throw ExitCode(1)
        }
        print("gate passed")
    }
}

/// `mercato bench edge-pairs`: writes and the reads right after them through an edge, counting stale reads.
struct BenchEdgePairs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge-pairs",
        abstract: "Write/read pairs through an edge: after each write's response, is any read through the edge older than the write?",
        discussion: "Price, stock and in_stock writes to --target (which must purge --edge: MERCATO_EDGE_PURGE_URLS), each followed by reads of the "
            + "product's detail and a listing page showing it through --edge, compared with the origin's answers.")
    @Option(help: "Base URL of the server (loopback).") var target = "http://127.0.0.1:8080"
    @Option(help: "The edge in front of --target (e.g. started with scripts/varnish.sh); --target itself runs the same pairs against the origin alone, as a control.")
    var edge = "http://127.0.0.1:6081"
    @Option(help: "Store (merchant slug).") var store = "demo"
    @Option(help: "Write/read pairs, spread over the workers (bounded: each pair is a few requests).") var pairs = 10_000
    @Option(help: "Concurrent workers, each on its own products.") var workers = 4
    @Option(help: "Admin token of the store.") var token: String
    @Option(help: "Write every figure as JSON to this file.") var json: String?

    func run() async throws {
        let report = try await EdgePairs.run(EdgePairSettings(target: target, edge: edge, store: store, pairs: pairs, workers: workers, adminToken: token))
        print(report.markdown())
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
        if report.staleReads > 0 { throw ExitCode(1) }
    }
}
