package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// jobRun is one ingestion throughput phase.
type jobRun struct {
	Replicas int
	Docs     int
	Elapsed  time.Duration // first submission → last job seen succeeded
	DocsPerS float64
}

// submitConc is how many documents are submitted at once.
const submitConc = 4

// measureJobs submits n small markdown documents to a new collection and
// waits until every job succeeded. The jobs are polled through the edge
// (one request at a time, every 100ms for what is still pending), so the
// time includes up to one poll interval.
func measureJobs(c *client, collection string, n, replicas int) (jobRun, error) {
	r := jobRun{Replicas: replicas, Docs: n}
	if err := c.call(http.MethodPost, "/v1/collections", map[string]any{"name": collection}, nil); err != nil {
		return r, fmt.Errorf("create collection %s: %w", collection, err)
	}
	start := time.Now()
	jobs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, submitConc)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var resp struct {
				Job struct {
					ID string `json:"id"`
				} `json:"job"`
			}
			errs[i] = c.call(http.MethodPost, "/v1/collections/"+collection+"/documents", map[string]any{
				"content": []byte(document(collection, i)), "source": fmt.Sprintf("%s-%d.md", collection, i), "content_type": "text/markdown",
			}, &resp)
			jobs[i] = resp.Job.ID
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return r, fmt.Errorf("submit document %d: %w", i, err)
		}
	}
	pending := map[string]bool{}
	for _, id := range jobs {
		pending[id] = true
	}
	deadline := start.Add(3 * time.Minute)
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%d of %d jobs not done after 3m", len(pending), n)
		}
		for id := range pending {
			var j struct {
				Job struct {
					State string `json:"state"`
					Error string `json:"error"`
				} `json:"job"`
			}
			if err := c.call(http.MethodGet, "/v1/ingest/jobs/"+id, nil, &j); err != nil {
				return r, fmt.Errorf("job %s: %w", id, err)
			}
			switch j.Job.State {
			case "JOB_STATE_SUCCEEDED":
				delete(pending, id)
			case "JOB_STATE_FAILED":
				return r, fmt.Errorf("job %s failed: %s", id, j.Job.Error)
			}
		}
		if len(pending) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	r.Elapsed = time.Since(start)
	r.DocsPerS = float64(n) / r.Elapsed.Seconds()
	return r, nil
}

// document is a small markdown document (~1.5 KB, a few chunks).
func document(collection string, i int) string {
	s := fmt.Sprintf("# %s note %d\n\n", collection, i)
	for p := range 6 {
		s += fmt.Sprintf("Paragraph %d of note %d: a scaled-out Rampart runs two replicas of each service against "+
			"PostgreSQL and Redis; the ingestion replicas lease jobs from a shared queue so that each document is "+
			"chunked, embedded and committed exactly once, whichever replica takes it (%s).\n\n", p, i, token(""))
	}
	return s
}
