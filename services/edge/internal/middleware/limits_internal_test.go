package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deadlineWriter records the write deadline set on it.
type deadlineWriter struct {
	http.ResponseWriter
	deadline time.Time
}

func (d *deadlineWriter) SetWriteDeadline(t time.Time) error { d.deadline = t; return nil }

// TestSetWriteDeadlineAsResponseController: the allocation-free walk sets
// the deadline on the writer http.ResponseController would, through the
// access log's recorder, and fails the same way when none has the method.
func TestSetWriteDeadlineAsResponseController(t *testing.T) {
	at := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		wrap func(base http.ResponseWriter) http.ResponseWriter
	}{
		{"writer itself", func(b http.ResponseWriter) http.ResponseWriter { return b }},
		{"behind the recorder", func(b http.ResponseWriter) http.ResponseWriter { return &recorder{ResponseWriter: b} }},
		{"behind two recorders", func(b http.ResponseWriter) http.ResponseWriter {
			return &recorder{ResponseWriter: &recorder{ResponseWriter: b}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := &deadlineWriter{ResponseWriter: httptest.NewRecorder()}, &deadlineWriter{ResponseWriter: httptest.NewRecorder()}
			require.NoError(t, setWriteDeadline(tc.wrap(ours), at))
			require.NoError(t, http.NewResponseController(tc.wrap(theirs)).SetWriteDeadline(at))
			require.Equal(t, at, ours.deadline)
			require.Equal(t, theirs.deadline, ours.deadline)

			// No writer with the method: both report it unsupported.
			plain := tc.wrap(httptest.NewRecorder())
			require.ErrorIs(t, setWriteDeadline(plain, at), http.ErrNotSupported)
			require.ErrorIs(t, http.NewResponseController(plain).SetWriteDeadline(at), http.ErrNotSupported)
		})
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{4 << 20: "4 MiB", 1 << 20: "1 MiB", 64 << 10: "64 KiB", (1 << 20) + 1: "1048577 bytes", 100: "100 bytes"} {
		require.Equal(t, want, byteSize(n), n)
	}
}
