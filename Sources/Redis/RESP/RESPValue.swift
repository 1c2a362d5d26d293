import NIOCore

/// One RESP2 or RESP3 value as received from the server.
///
/// Attributes (`|`) are skipped by the decoder and never appear here.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`
    case simpleString(String)
    /// `-ERR ...` or RESP3 blob error `!`.
    case error(String)
    /// `:42`
    case integer(Int)
    /// `$3\r\nfoo` or `$-1` (nil) in RESP2.
    case bulkString(ByteBuffer?)
    /// `*2 ...` or `*-1` (nil) in RESP2.
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    /// RESP3 `,1.5`.
    case double(Double)
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `%`; keys are unique in practice, so a dictionary is the natural shape.
    case map([RESPValue: RESPValue])
    /// RESP3 `~`; kept in wire order.
    case set([RESPValue])
    /// RESP3 `>`: out-of-band data such as pub/sub messages.
    case push([RESPValue])
    /// RESP3 `(`: an integer too large for 64 bits, kept as its decimal digits.
    case bigNumber(String)
    /// RESP3 `=`: a string with a three-letter format such as `txt` or `mkd`.
    case verbatimString(format: String, text: ByteBuffer)
}
