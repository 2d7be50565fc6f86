package awsclient

import (
	"io"
	"net/http"
)

// Doer is the SDK's HTTP client interface (aws.HTTPClient), restated so
// this package needs no SDK import.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// HTTPClient wraps next so that the request bodies it sends expose only
// Read and Close.
//
// Why: smithy-go wraps a request body in a closer whose WriteTo answers
// io.EOF once closed, and closes it as soon as the response headers
// arrive. net/http, after writing a body of known length, copies what is
// left of it to io.Discard (through WriteTo when the body has one) and
// treats an error there as a failed write, which closes the connection.
// When the server answers fast enough that the headers come back before
// that copy, the connection closes under the response: a Bedrock
// ConverseStream then ends with "use of closed network connection"
// mid-stream. Without WriteTo, the copy reads, gets io.EOF, and counts
// it as the end of the body, not an error.
func HTTPClient(next Doer) Doer { return readOnlyBodies{next: next} }

type readOnlyBodies struct{ next Doer }

func (c readOnlyBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readCloser{r.Body}
	}
	return c.next.Do(r)
}

// readCloser hides every method of the body but Read and Close.
type readCloser struct{ rc io.ReadCloser }

func (b readCloser) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readCloser) Close() error               { return b.rc.Close() }
