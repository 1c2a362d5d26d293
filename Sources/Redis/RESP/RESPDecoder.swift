import NIOCore

/// Accumulates bytes across reads and yields each complete value once it has fully arrived.
///
/// The connection handler feeds it directly instead of running it as a `ByteToMessageHandler`:
/// passing each reply through the pipeline would box it in `NIOAny` and cast it back, which
/// was a measurable share of the per-reply cost in deep pipelines.
struct RESPDecoder {
    private let parser: RESPParser
    private var buffer = ByteBuffer()

    init(parser: RESPParser = RESPParser()) {
        self.parser = parser
    }

    /// Bytes received but not yet part of a complete value.
    var bufferedBytes: Int {
        self.buffer.readableBytes
    }

    mutating func append(_ bytes: ByteBuffer) {
        if self.buffer.readableBytes == 0 {
            // The common case: the previous read ended on a frame boundary, so no copy.
            self.buffer = bytes
        } else {
            var bytes = bytes
            self.buffer.writeBuffer(&bytes)
        }
    }

    /// The next complete value, or nil until more bytes arrive.
    mutating func next() throws(RedisError) -> RESPValue? {
        try self.parser.parse(&self.buffer)
    }
}
