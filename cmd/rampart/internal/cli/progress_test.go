package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		job  docJob
		want string
	}{
		{"queued", docJob{State: "JOB_STATE_QUEUED"}, "a.md [....................]   0% 0/0 chunks queued"},
		{"no state yet", docJob{}, "a.md [....................]   0% 0/0 chunks pending"},
		{"half", docJob{State: "JOB_STATE_RUNNING", ChunksDone: 7, ChunksTotal: 14}, "a.md [##########..........]  50% 7/14 chunks running"},
		{"rounds down", docJob{State: "JOB_STATE_RUNNING", ChunksDone: 2, ChunksTotal: 3}, "a.md [#############.......]  66% 2/3 chunks running"},
		{"done", docJob{State: "JOB_STATE_SUCCEEDED", ChunksDone: 3, ChunksTotal: 3}, "a.md [####################] 100% 3/3 chunks succeeded"},
		{"failed", docJob{State: "JOB_STATE_FAILED", Error: "extract: no text"}, "a.md [....................]   0% 0/0 chunks failed: extract: no text"},
		{"more done than total is capped", docJob{State: "JOB_STATE_RUNNING", ChunksDone: 5, ChunksTotal: 4}, "a.md [####################] 100% 5/4 chunks running"},
		{"crawl running: of the page limit", docJob{Kind: "JOB_KIND_CRAWL", State: "JOB_STATE_RUNNING", PagesDone: 5, PagesMax: 20, DocumentsPending: 3},
			"a.md [#####...............]  25% 5/20 pages, 3 documents pending, 0 failed running"},
		{"crawl ended below its limit: full", docJob{Kind: "JOB_KIND_CRAWL", State: "JOB_STATE_SUCCEEDED", PagesDone: 10, PagesMax: 20, DocumentsFailed: 1},
			"a.md [####################] 100% 10/20 pages, 0 documents pending, 1 failed succeeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, renderProgress("a.md", tc.job))
		})
	}
}

func TestSummarizeJob(t *testing.T) {
	for _, tc := range []struct {
		name string
		job  docJob
		err  error
		want string
	}{
		{"succeeded", docJob{State: "JOB_STATE_SUCCEEDED", ChunksDone: 3, ChunksTotal: 3}, nil, "a.md: succeeded, 3/3 chunks"},
		{"failed", docJob{State: "JOB_STATE_FAILED", Error: "extract: no text"}, nil, "a.md: failed, 0/0 chunks: extract: no text"},
		{"crawl", docJob{Kind: "JOB_KIND_CRAWL", State: "JOB_STATE_SUCCEEDED", PagesDone: 9, DocumentsFailed: 2}, nil, "a.md: succeeded, 9 pages, 0 documents pending, 2 failed"},
		{"stream error", docJob{State: "JOB_STATE_RUNNING", ChunksDone: 1, ChunksTotal: 2}, errors.New("404 not found"), "a.md: running, 1/2 chunks (stopped following the job: 404 not found)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, summarizeJob("a.md", tc.job, tc.err))
		})
	}
}

// TestProgressOutput: a pipe or log gets a line per change and no control
// characters; a terminal gets one line redrawn in place, cut to its
// width, then the summary.
func TestProgressOutput(t *testing.T) {
	steps := []docJob{
		{ID: "j", State: "JOB_STATE_QUEUED"},
		{ID: "j", State: "JOB_STATE_RUNNING", ChunksDone: 1, ChunksTotal: 4},
		{ID: "j", State: "JOB_STATE_SUCCEEDED", ChunksDone: 4, ChunksTotal: 4},
	}
	var log bytes.Buffer
	p := newProgress(&log, "notes.md")
	require.False(t, p.tty, "a buffer is not a terminal")
	for _, j := range steps {
		p.update(j)
	}
	p.done(steps[2], nil)
	require.Equal(t, "notes.md [....................]   0% 0/0 chunks queued\n"+
		"notes.md [#####...............]  25% 1/4 chunks running\n"+
		"notes.md [####################] 100% 4/4 chunks succeeded\n", log.String())

	var screen bytes.Buffer
	p = &progress{w: &screen, name: "notes.md", tty: true, width: 40}
	for _, j := range steps {
		p.update(j)
	}
	p.done(steps[2], nil)
	out := screen.String()
	require.Equal(t, 1, strings.Count(out, "\n"), "one line redrawn, then the summary: %q", out)
	require.Equal(t, 4, strings.Count(out, "\r"), "three redraws and the final erase")
	require.Contains(t, out, "\rnotes.md [#####...............]  25% 1/\x1b[K", "cut to the terminal's width (39 columns)")
	require.True(t, strings.HasSuffix(out, "\r\x1b[Knotes.md: succeeded, 4/4 chunks\n"), "%q", out)
}
