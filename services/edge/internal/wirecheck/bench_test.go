package wirecheck_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/services/edge/internal/wirecheck"
)

// BenchmarkCheckRequest is the check's cost for one typical chat request
// (head of ~450 bytes and a 1 KiB JSON body), read in 4 KiB pieces as
// net/http's bufio.Reader does.
func BenchmarkCheckRequest(b *testing.B) {
	body := `{"model":"gpt-fake","messages":[{"role":"user","content":"` + strings.Repeat("x", 960) + `"}]}`
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: edge.example.com\r\nUser-Agent: OpenAI/Python 1.60.0\r\n" +
		"Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\nAuthorization: Bearer rk_0123456789abABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq012345\r\n" +
		"Content-Type: application/json\r\nX-Stainless-Lang: python\r\nX-Stainless-Package-Version: 1.60.0\r\nX-Request-Id: 4f9c2b7a1d\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	in := []byte(strings.Repeat(req, 64))
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 64 {
		c := wirecheck.NewConn(&memConn{r: bytes.NewReader(in), step: 4096})
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
	}
}
