package awsclient_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/awsclient"
)

type recordingDoer struct{ got *http.Request }

func (d *recordingDoer) Do(r *http.Request) (*http.Response, error) {
	d.got = r
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

// closedWriterTo behaves as smithy-go's safe request body once closed:
// WriteTo answers io.EOF, Read answers (0, io.EOF).
type closedWriterTo struct{ closed bool }

func (b *closedWriterTo) Read([]byte) (int, error) { return 0, io.EOF }
func (b *closedWriterTo) Close() error             { b.closed = true; return nil }
func (b *closedWriterTo) WriteTo(io.Writer) (int64, error) {
	return 0, io.EOF
}

func TestRequestBodiesLoseWriteTo(t *testing.T) {
	tests := []struct {
		name    string
		body    io.ReadCloser
		wrapped bool
	}{
		{name: "body with WriteTo", body: &closedWriterTo{}, wrapped: true},
		{name: "plain body", body: io.NopCloser(bytes.NewReader([]byte("x"))), wrapped: true},
		{name: "no body", body: nil},
		{name: "http.NoBody", body: http.NoBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingDoer{}
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
			require.NoError(t, err)
			req.Body = tt.body
			_, err = awsclient.HTTPClient(rec).Do(req)
			require.NoError(t, err)
			if !tt.wrapped {
				require.Equal(t, tt.body, rec.got.Body)
				return
			}
			_, hasWriteTo := rec.got.Body.(io.WriterTo)
			require.False(t, hasWriteTo, "net/http must not see WriteTo")
			// What net/http does after a body of known length: copy the
			// rest to io.Discard. A closed body ends that copy cleanly.
			if c, ok := tt.body.(*closedWriterTo); ok {
				_, err := io.Copy(io.Discard, rec.got.Body)
				require.NoError(t, err)
				require.NoError(t, rec.got.Body.Close())
				require.True(t, c.closed, "Close reaches the SDK's body")
			}
		})
	}
}
