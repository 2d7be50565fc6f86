// Package wirecheck refuses HTTP/1.x requests whose framing Go's net/http
// server would accept but a proxy in front of the edge might read
// differently: header, trailer and chunk-size lines that end in a bare LF
// (RFC 9112 §2.2 lets a recipient accept them; Go does), obsolete line
// folding (a header line starting with SP or HTAB, which Go silently joins
// to the previous value), a request carrying both Transfer-Encoding and
// Content-Length, and Transfer-Encoding on HTTP/1.0 (which Go ignores).
// Such differences are the raw material of request smuggling.
//
// net/http exposes no hook on the raw header bytes, so the check wraps the
// listener: each connection's byte stream goes through a small HTTP/1.1
// framing tracker (request line, header lines, then a Content-Length or
// chunked body, then the next request). Bytes reach the server only once
// the line that holds them has been checked, so the server never sees part
// of a refused line. On a violation the connection's stream is cut at the
// last good line and "!\r\n\r\n" is appended: a line that is not a valid
// request line, header line, chunk-size line or trailer, so the server
// itself answers 400 and closes the connection, in order with any response
// it is still writing for an earlier pipelined request. Reads then end.
//
// The tracker parses only framing (line ends, Content-Length,
// Transfer-Encoding, chunk sizes); everything else is left to net/http.
// Where it cannot follow the framing (a value net/http rejects anyway,
// such as a malformed Content-Length), it refuses too. NewListener wraps a
// plaintext listener; NewTLSListener terminates TLS itself so the check
// sees plaintext, and hands connections that negotiated HTTP/2 (no line
// framing) to net/http unwrapped.
package wirecheck
