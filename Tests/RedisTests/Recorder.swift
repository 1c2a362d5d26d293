import Synchronization

/// Collects values from @Sendable callbacks for later assertions.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func append(_ value: Value) {
        self.values.withLock { $0.append(value) }
    }

    var all: [Value] {
        self.values.withLock { $0 }
    }
}
