package openai

import (
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

var benchBody = []byte(`{"model":"gpt-fake","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello to the benchmark in a few words please."}],"max_tokens":64,"temperature":0.2}`)

// BenchmarkEdgeRequestWork is all the edge does with a chat body in the
// chosen wire format: check it is a JSON object, read "stream", wrap the
// bytes in the gRPC request (docs/adr/0007).
func BenchmarkEdgeRequestWork(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, e := inspect(benchBody); e != nil {
			b.Fatal(e)
		}
		if _, err := proto.Marshal(&inferencev1.ChatCompletionRequest{Body: benchBody}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		body   string
		stream bool
		param  string
		bad    bool
	}{
		{`{"stream":true}`, true, "", false},
		{`{"stream":false}`, false, "", false},
		{`{"stream":null,"model":"x"}`, false, "", false},
		{`{}`, false, "", false},
		{`{"stream":"true"}`, false, "stream", true},
		{`[]`, false, "", true},
		{`"x"`, false, "", true},
		{`{"a":`, false, "", true},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"a\xffb\"}]}", false, "", true},
		{"{\"model\":\"\xed\xa0\x80\"}", false, "", true}, // a UTF-16 surrogate encoded in UTF-8
		{"{\"model\":\"\xc3\"}", false, "", true},         // truncated sequence
		{"{\"model\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", false, "", false},
	}
	for _, tt := range tests {
		stream, e := inspect([]byte(tt.body))
		if tt.bad {
			if e == nil || e.Param != tt.param {
				t.Fatalf("%s: got %v", tt.body, e)
			}
			continue
		}
		if e != nil || stream != tt.stream {
			t.Fatalf("%s: got %v %v", tt.body, stream, e)
		}
	}
}

func FuzzInspect(f *testing.F) {
	f.Add([]byte(`{"stream":true,"model":"m"}`))
	f.Add([]byte(`{"stream":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, e := inspect(body)
		if e != nil && (e.Status != 400 || e.Message == "") {
			t.Fatalf("bad error %+v", e)
		}
		if e == nil && !utf8.Valid(body) {
			t.Fatalf("invalid UTF-8 accepted: %q", body)
		}
	})
}
