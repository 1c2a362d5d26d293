import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Redis
/// GET throughput of RedisClient, comparable to `redis-benchmark -t get -c C -P P -q`.
///
///     RedisClientBench URL [requests] [tasks] [depths, e.g. 1,16]
///
/// Runs pipeline depth 1 and 16; `tasks` concurrent tasks share one client whose pool has as
/// many connections as tasks (redis-benchmark's `-c`).
///
/// `EVENT_LOOPS=n` uses n event loop threads instead of the shared group (one per core).
/// `PIN_TASKS=1` uses one event loop and runs the tasks on it, like redis-benchmark's single
/// thread: no hops between the tasks' threads and the event loop.
@main
struct RedisClientBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            print("usage: RedisClientBench redis://127.0.0.1:6379 [requests=200000] [tasks=32] [depths=1,16]")
            return
        }
        let requests = arguments.count > 2 ? Int(arguments[2]) ?? 200_000 : 200_000
        let tasks = arguments.count > 3 ? Int(arguments[3]) ?? 32 : 32
        let depths = arguments.count > 4 ? arguments[4].split(separator: ",").compactMap { Int($0) } : [1, 16]

        var configuration = try RedisConfiguration(url: arguments[1])
        configuration.maximumConnections = tasks
        let pinTasks = Environment.pinTasks
        let loops = pinTasks ? 1 : Environment.eventLoops
        let group: any EventLoopGroup = loops.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        let executor = pinTasks ? EventLoopTaskExecutor(eventLoop: group.next()) : nil
        let client = RedisClient(configuration: configuration, eventLoopGroup: group)
        // The same 3-byte value redis-benchmark's SET test writes.
        try await client.set("key:__rand_int__", to: "xxx")

        for depth in depths {
            // Warm up the pool so connection setup is not measured.
            _ = try await run(client: client, requests: tasks * depth * 50, tasks: tasks, depth: depth, executor: executor)
            let seconds = try await run(client: client, requests: requests, tasks: tasks, depth: depth, executor: executor)
            let rate = Double(requests) / seconds
            let mode = pinTasks ? " [tasks pinned to one event loop]" : ""
            print("RedisClient GET -c \(tasks) -P \(depth)\(mode): \(Int(rate)) requests per second (\(requests) requests in \(String(format: seconds)) s)")
        }
        await client.close()
    }

    private static func run(client: RedisClient, requests: Int, tasks: Int, depth: Int, executor: EventLoopTaskExecutor?) async throws -> Double {
        let batchesPerTask = max(requests / (tasks * depth), 1)
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask(executorPreference: executor) {
                    for _ in 0..<batchesPerTask {
                        if depth == 1 {
                            guard try await client.get("key:__rand_int__") != nil else { throw BenchError.missingValue }
                        } else {
                            let commands = (0..<depth).map { _ in RedisCommand(["GET", "key:__rand_int__"]) }
                            let replies = try await client.pipeline(commands)
                            guard replies.count == depth else { throw BenchError.missingValue }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

enum Environment {
    static var eventLoops: Int? {
        getenv("EVENT_LOOPS").flatMap { Int(String(cString: $0)) }
    }

    static var pinTasks: Bool {
        getenv("PIN_TASKS").map { String(cString: $0) == "1" } ?? false
    }
}

/// Runs tasks on an event loop thread.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        self.eventLoop.execute {
            job.runSynchronously(on: executor)
        }
    }
}

enum BenchError: Error {
    case missingValue
}

extension String {
    fileprivate init(format seconds: Double) {
        self = String(Double(Int(seconds * 1000)) / 1000)
    }
}
