import Synchronization

/// Set by the channel handler the moment it stops accepting commands, before it fails the
/// pending ones, so a task resumed by that failure already sees its connection as closed
/// (the channel itself becomes inactive a little later) and the pool does not reuse it.
final class ClosedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool {
        self.value.load(ordering: .acquiring)
    }

    func set() {
        self.value.store(true, ordering: .releasing)
    }
}
