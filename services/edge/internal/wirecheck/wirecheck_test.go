package wirecheck_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/edge/internal/wirecheck"
)

// serve starts a real net/http server on a checked listener. The handler
// echoes what net/http parsed, so tests can see a request was not altered.
func serve(t *testing.T, wrap bool) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if wrap {
		lis = wirecheck.NewListener(lis)
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    64 << 10,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
				return
			}
			_, _ = fmt.Fprintf(w, "%s %s body=%q x-a=%q trailer=%q", r.Method, r.URL.Path, body, r.Header.Get("X-A"), r.Trailer.Get("X-T")) //nolint:gosec // test echo server, text/plain
		}),
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return lis.Addr().String()
}

type answer struct {
	status int
	body   string
}

// exchange writes raw (in pieces of size step, 0 = at once) on one
// connection and reads every response until the server closes it.
func exchange(t *testing.T, addr, raw string, step int) []answer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	go func() {
		if step <= 0 {
			_, _ = io.WriteString(c, raw)
			return
		}
		for i := 0; i < len(raw); i += step {
			_, _ = io.WriteString(c, raw[i:min(i+step, len(raw))])
			time.Sleep(time.Millisecond)
		}
	}()
	var out []answer
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
			return out
		}
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		_ = resp.Body.Close()
		out = append(out, answer{resp.StatusCode, string(b)})
		if resp.Close {
			return out
		}
	}
}

const (
	get      = "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"
	getClose = "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
)

func TestRefusesWhatNetHTTPWouldAccept(t *testing.T) {
	checked, plain := serve(t, true), serve(t, false)
	cases := []struct {
		name string
		raw  string
		// want: the statuses on the checked listener, in order.
		want []int
		// plainAccepts: net/http alone answers 200 to the first request
		// (the reason for this package); false where it refuses too.
		plainAccepts bool
	}{
		{"bare LF everywhere", "GET /a HTTP/1.1\nHost: x\nX-A: 1\n\n", []int{400}, true},
		{"bare LF in the request line", "GET /a HTTP/1.1\nHost: x\r\n\r\n", []int{400}, true},
		{"bare LF after one header", "GET /a HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", []int{400}, true},
		{"bare LF ending the head", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\n", []int{400}, true},
		{"folded header (SP)", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", []int{400}, true},
		{"folded header (HTAB)", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t2\r\n\r\n", []int{400}, true},
		{"Transfer-Encoding and Content-Length",
			"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []int{400}, true},
		{"Transfer-Encoding on HTTP/1.0",
			"POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", []int{400}, true},
		{"folded trailer", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n 2\r\n\r\n", []int{400}, true},
		{"bare LF in a trailer", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\n\r\n", []int{400}, true},
		// net/http refuses these by itself; the check refuses them too.
		{"bare CR", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r2\r\n\r\n", []int{400}, false},
		{"bare LF after a chunk size", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", []int{400}, false},
		{"conflicting Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", []int{400}, false},
		{"malformed Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na", []int{400}, false},
		{"unsupported Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", []int{400}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, checked, tc.raw, 0)
			require.Len(t, got, len(tc.want), "%+v", got)
			for i, w := range tc.want {
				require.Equal(t, w, got[i].status, "%+v", got)
			}
			if tc.plainAccepts {
				p := exchange(t, plain, tc.raw+getClose, 0)
				require.NotEmpty(t, p)
				require.Equal(t, http.StatusOK, p[0].status, "net/http alone now refuses this: %+v", p)
			}
		})
	}
}

func TestKeepsGoodTraffic(t *testing.T) {
	addr := serve(t, true)
	chunked := "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"4;ext=1\r\nab\nc\r\n" + // bare LF and CR inside chunk data are data
		"3 \r\n\r\n \r\n" +
		"0\r\nX-T: t\r\n\r\n"
	body := "line1\n folded-looking\r\nGET /smuggled HTTP/1.1\n\n"
	withBody := fmt.Sprintf("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	raw := get + withBody + chunked + "\r\n" + getClose
	for _, step := range []int{0, 1, 7} {
		t.Run(fmt.Sprintf("step %d", step), func(t *testing.T) {
			got := exchange(t, addr, raw, step)
			require.Equal(t, []answer{
				{200, `GET /a body="" x-a="1" trailer=""`},
				{200, `POST /b body="line1\n folded-looking\r\nGET /smuggled HTTP/1.1\n\n" x-a="" trailer=""`},
				{200, `POST /c body="ab\nc\r\n " x-a="" trailer="t"`},
				// net/http skips an empty line before a request.
				{200, `GET /last body="" x-a="" trailer=""`},
			}, got)
		})
	}
	// A refused request after good ones on the same connection: the good
	// ones are answered, then 400 and the connection closes.
	got := exchange(t, addr, get+get+"GET /bad HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"+get, 0)
	require.Len(t, got, 3)
	require.Equal(t, []int{200, 200, 400}, []int{got[0].status, got[1].status, got[2].status})
}

// Requests net/http's own client writes (any method, body, chunked or not,
// headers) are never refused and reach the server byte for byte.
func FuzzGoodRequestsPass(f *testing.F) {
	f.Add("POST", "/v1/chat/completions", "hello\nworld", true, "v", uint8(3))
	f.Add("GET", "/v1/models", "", false, "", uint8(1))
	f.Fuzz(func(t *testing.T, method, path, body string, chunked bool, hv string, step uint8) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t?#%") {
			t.Skip()
		}
		var raw bytes.Buffer
		for range 2 {
			req, err := http.NewRequest(method, "http://x"+path, strings.NewReader(body))
			if err != nil {
				t.Skip()
			}
			if chunked {
				req.ContentLength = -1
				req.TransferEncoding = []string{"chunked"}
			}
			req.Header.Set("X-A", hv)
			if err := req.Write(&raw); err != nil {
				t.Skip() // net/http's client refuses it too
			}
		}
		out, c := readAll(raw.Bytes(), int(step)+1)
		require.Empty(t, c.Reason())
		require.Equal(t, raw.String(), string(out))
	})
}

// Whatever arrives, the server reads all of it, or a prefix of it that
// stops before the refused line, followed by the refusal.
func FuzzOutputIsPrefixPlusRefusal(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\n\r\n"), uint8(2))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		out, c := readAll(in, int(step)+1)
		if c.Reason() == "" {
			require.Equal(t, string(in), string(out))
			return
		}
		require.True(t, bytes.HasSuffix(out, []byte(wirecheck.Refusal)))
		prefix := out[:len(out)-len(wirecheck.Refusal)]
		require.True(t, bytes.HasPrefix(in, prefix))
		require.Less(t, len(prefix), len(in), "the refused line is withheld")
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// readAll feeds in through a Conn in reads of at most step bytes.
func readAll(in []byte, step int) ([]byte, *wirecheck.Conn) {
	c := wirecheck.NewConn(&memConn{r: bytes.NewReader(in), step: step})
	var out []byte
	buf := make([]byte, 5)
	for {
		n, err := c.Read(buf[:1+len(out)%len(buf)])
		out = append(out, buf[:n]...)
		if err != nil {
			return out, c
		}
	}
}

// memConn is a net.Conn reading from r in pieces of at most step bytes.
type memConn struct {
	net.Conn
	r    *bytes.Reader
	step int
}

func (m *memConn) Read(p []byte) (int, error) {
	if len(p) > m.step {
		p = p[:m.step]
	}
	return m.r.Read(p)
}
