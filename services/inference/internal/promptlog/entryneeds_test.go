package promptlog_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
)

func TestNeedsOf(t *testing.T) {
	for _, tc := range []struct {
		name, request, answering string
		want                     promptlog.ReaderNeeds
	}{
		{"chat", `{"model":"echo","messages":[]}`, "echo", promptlog.ReaderNeeds{Models: []string{"echo"}}},
		{"grounded", `{"model":"rampart-extractive","rampart":{"collections":["handbook"]}}`, "rampart-extractive",
			promptlog.ReaderNeeds{Search: true, Models: []string{"rampart-extractive"}}},
		{"no collections named", `{"model":"echo","rampart":{"collections":[]}}`, "echo", promptlog.ReaderNeeds{Models: []string{"echo"}}},
		{"an assistant: its name or its model", `{"model":"support-bot","input":"hi"}`, "gpt-4o",
			promptlog.ReaderNeeds{Models: []string{"support-bot", "gpt-4o"}}},
		{"unparsable: the answering model", `not json`, "echo", promptlog.ReaderNeeds{Models: []string{"echo"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, *promptlog.NeedsOf([]byte(tc.request), tc.answering))
		})
	}
}
