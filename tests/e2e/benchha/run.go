package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// concurrency of the throughput phases (issue 16).
const concurrency = 16

// result is everything one run measured.
type result struct {
	Sizes              sizes
	CPUs               int
	LoadBefore         string // /proc/loadavg before the run
	LoadAfter          string
	SQLite, HA         throughput
	Kills              []kill
	JobsSQLite         jobRun
	JobsHA2, JobsHA1   jobRun
	RunSeconds         float64
	SQLiteUp, HAUp     time.Duration
	SQLiteEdges, Edges int
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func run(root string, sz sizes, logw io.Writer) (*result, error) {
	t0 := time.Now()
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "rampart-benchha-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(work) }()
	// PostgreSQL (run as another account when we are root) must traverse it.
	if err := os.Chmod(work, 0o711); err != nil { //nolint:gosec // G302: traversable, not listable
		return nil, err
	}
	bin := filepath.Join(work, "bin")
	res := &result{Sizes: sz, CPUs: runtime.NumCPU(), LoadBefore: loadavg()}
	fmt.Fprintf(logw, "benchha: building into %s\n", bin)
	if err := devenv.Build(root, bin, "./tests/e2e/benchstack/fakeupstream"); err != nil {
		return nil, err
	}
	fake, upAddr, err := startFake(work, bin)
	if err != nil {
		return nil, err
	}
	defer fake.Stop(procGrace)
	models, err := writeModels(work, upAddr)
	if err != nil {
		return nil, err
	}
	if err := runPlain(res, work, bin, models, logw); err != nil {
		return nil, err
	}
	if err := runHA(res, work, bin, models, logw); err != nil {
		return nil, err
	}
	res.LoadAfter = loadavg()
	res.RunSeconds = time.Since(t0).Seconds()
	return res, nil
}

// runPlain measures the plain stack: SQLite, one replica of each service.
func runPlain(res *result, work, bin, models string, logw io.Writer) error {
	sz := res.Sizes
	d := time.Duration(sz.Seconds) * time.Second
	t := time.Now()
	plain, err := startStack(work, bin, models, false)
	if err != nil {
		return err
	}
	res.SQLiteUp, res.SQLiteEdges = time.Since(t), len(plain.edges)
	fmt.Fprintf(logw, "benchha: rampart dev (SQLite) up in %s; throughput at c=%d, %s per phase\n", res.SQLiteUp.Round(time.Millisecond), concurrency, d)
	pc := newClient(plain.edges, plain.admin)
	res.SQLite, err = measureThroughput(pc, concurrency, d, "sqlite")
	if err == nil {
		fmt.Fprintf(logw, "benchha: SQLite ingestion, %d documents\n", sz.Docs)
		res.JobsSQLite, err = measureJobs(pc, "habench-sqlite", sz.Docs, 1)
	}
	plain.stop()
	if err != nil {
		return fmt.Errorf("sqlite stack: %w", err)
	}
	return nil
}

// runHA measures the --ha stack: PostgreSQL, Redis, two replicas of
// everything.
func runHA(res *result, work, bin, models string, logw io.Writer) error {
	sz := res.Sizes
	d := time.Duration(sz.Seconds) * time.Second
	t := time.Now()
	ha, err := startStack(work, bin, models, true)
	if err != nil {
		return err
	}
	defer ha.stop()
	res.HAUp, res.Edges = time.Since(t), len(ha.edges)
	fmt.Fprintf(logw, "benchha: rampart dev --ha up in %s; throughput at c=%d over both edges\n", res.HAUp.Round(time.Millisecond), concurrency)
	hc := newClient(ha.edges, ha.admin)
	if res.HA, err = measureThroughput(hc, concurrency, d, "ha"); err != nil {
		return fmt.Errorf("ha stack: %w", err)
	}
	fmt.Fprintf(logw, "benchha: failover, %d kills\n", sz.Kills)
	if res.Kills, err = measureFailover(ha, hc, sz.Kills, time.Duration(sz.DownMillis)*time.Millisecond, logw); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	fmt.Fprintf(logw, "benchha: ingestion with 2 replicas, %d documents\n", sz.Docs)
	if res.JobsHA2, err = measureJobs(hc, "habench-ha2", sz.Docs, 2); err != nil {
		return fmt.Errorf("ingestion, 2 replicas: %w", err)
	}
	// One replica: ingestion-2 killed (no job of it is in flight: the
	// previous phase finished them all, so none waits out a lease).
	if _, err := ha.control(http.MethodPost, "/v1/processes/ingestion-2/kill"); err != nil {
		return err
	}
	fmt.Fprintf(logw, "benchha: ingestion with 1 replica (ingestion-2 killed), %d documents\n", sz.Docs)
	if res.JobsHA1, err = measureJobs(hc, "habench-ha1", sz.Docs, 1); err != nil {
		return fmt.Errorf("ingestion, 1 replica: %w", err)
	}
	return nil
}

// failoverStats is p50/p99 (nearest rank) of kills of one group.
func failoverStats(kills []kill, group string) (n int, firstP50, firstP99, recP50, recP99 time.Duration, failed, probes int) {
	var first, rec []time.Duration
	for _, k := range kills {
		if !strings.HasPrefix(k.Victim, group) {
			continue
		}
		first = append(first, k.FirstOK)
		rec = append(rec, k.Recovered)
		failed += k.Failed
		probes += k.Probes
	}
	return len(first), quantile(first, 0.5), quantile(first, 0.99), quantile(rec, 0.5), quantile(rec, 0.99), failed, probes
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func (r *result) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`make bench-ha`, %s UTC, %d CPUs shared by the client, both stacks' servers, PostgreSQL, Redis and the fake upstream "+
		"(and other work on the machine: load average %s before, %s after); %.0f s in all.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), r.CPUs, r.LoadBefore, r.LoadAfter, r.RunSeconds)
	fmt.Fprintf(&b, "Throughput, c=%d closed loop, %d s per phase (the --ha client spreads over both edges):\n\n", concurrency, r.Sizes.Seconds)
	b.WriteString("| operation | SQLite, 1 replica: req/s | p50 / p99 | errors | --ha PostgreSQL, 2 replicas: req/s | p50 / p99 | errors | --ha / SQLite |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, a, h loadStats) {
		ratio := 0.0
		if a.RPS > 0 {
			ratio = h.RPS / a.RPS
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s / %s | %d | %.0f | %s / %s | %d | %.2f× |\n",
			name, a.RPS, ms(a.P50), ms(a.P99), a.Errors, h.RPS, ms(h.P50), ms(h.P99), h.Errors, ratio)
	}
	row("keyvault secret read (REST)", r.SQLite.Read, r.HA.Read)
	row("keyvault secret write (new version)", r.SQLite.Write, r.HA.Write)
	row("chat completion (openai → instant fake)", r.SQLite.Chat, r.HA.Chat)
	fmt.Fprintf(&b, "\nFailover on the --ha stack, %d kills (SIGKILL through the control API, replica down %d ms under a probe sending one request every %s, "+
		"round robin over both edges, no client retries, an edge whose connection fails skipped for 1 s). "+
		"\"first success\": kill request → the end of the first successful request sent after the control API reported the replica dead; "+
		"\"errors until\": kill request → the end of the last failed request (0: none failed). "+
		"With this few kills p99 is the worst one.\n\n", len(r.Kills), r.Sizes.DownMillis, probePace)
	b.WriteString("| killed | kills | first success p50 / p99 | errors until p50 / p99 | failed / probe requests |\n|---|---:|---:|---:|---:|\n")
	for _, g := range []string{"keyvault", "inference", "edge"} {
		n, f50, f99, r50, r99, failed, probes := failoverStats(r.Kills, g)
		if n == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s / %s | %s / %s | %d / %d |\n", g, n, ms(f50), ms(f99), ms(r50), ms(r99), failed, probes)
	}
	var restarts []time.Duration
	for _, k := range r.Kills {
		restarts = append(restarts, k.Restart)
	}
	slices.Sort(restarts)
	fmt.Fprintf(&b, "\nRestart of a killed replica to healthy (the control API waits for its health check): p50 %s, worst %s.\n",
		ms(quantile(restarts, 0.5)), ms(quantile(restarts, 1)))
	fmt.Fprintf(&b, "\nIngestion jobs, %d small markdown documents (~1.5 KB) submitted %d at a time, first submission → every job seen succeeded (polled every 100 ms), 2 workers per replica:\n\n",
		r.Sizes.Docs, submitConc)
	b.WriteString("| stack | ingestion replicas | time | documents/s |\n|---|---:|---:|---:|\n")
	for _, j := range []struct {
		name string
		r    jobRun
	}{{"SQLite", r.JobsSQLite}, {"--ha PostgreSQL", r.JobsHA2}, {"--ha PostgreSQL (ingestion-2 killed)", r.JobsHA1}} {
		fmt.Fprintf(&b, "| %s | %d | %s | %.1f |\n", j.name, j.r.Replicas, j.r.Elapsed.Round(time.Millisecond), j.r.DocsPerS)
	}
	fmt.Fprintf(&b, "\nStart-up: SQLite stack %s, --ha stack %s (PostgreSQL initdb, Redis, 12 services).\n",
		r.SQLiteUp.Round(100*time.Millisecond), r.HAUp.Round(100*time.Millisecond))
	return b.String()
}
