// Command loadgen measures what a gateway adds over a direct call to the same
// OpenAI-compatible upstream. Phase 1 sends -n sequential chat completions to
// each target, interleaved request by request (the order rotates every
// step) so drift hits all targets equally. Phase 2 runs a closed loop at each
// concurrency for -dur per target, rotating the target order each round, for
// -rounds rounds. An optional -proxy target (a bare reverse proxy) gives the
// floor cost of one extra HTTP hop. Every load is bounded in time and count;
// targets must be loopback.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type target struct {
	name   string
	url    string
	auth   string // Authorization header value
	body   []byte
	client *http.Client
	// want are the markers a 200 answer must hold (a chat completion's,
	// or a response object's for the Responses API).
	want [][]byte
	cpu  []int // PIDs whose CPU time is charged to this target
}

func newTarget(name, u, model string, maxConns int) *target {
	pu, err := url.Parse(u)
	if err != nil || (!strings.HasPrefix(pu.Hostname(), "127.") && pu.Hostname() != "localhost") {
		log.Fatalf("%s: refusing non-loopback target %q", name, u)
	}
	body, _ := json.Marshal(map[string]any{
		"model":    model,
		"messages": []any{map[string]string{"role": "user", "content": "Say hello."}},
	})
	tr := &http.Transport{
		MaxIdleConns:        maxConns * 2,
		MaxIdleConnsPerHost: maxConns * 2,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &target{name: name, url: u, auth: "Bearer sk-fake-client", body: body, client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		want: [][]byte{[]byte(`"chat.completion"`), []byte(`"choices"`)}}
}

// cpuTicks sums utime+stime (clock ticks) of the given PIDs.
func cpuTicks(pids []int) int64 {
	var sum int64
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+2:])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		sum += ut + st
	}
	return sum
}

// cpuUsPerReq converts a tick delta over n requests to microseconds per request (USER_HZ=100).
func cpuUsPerReq(ticks int64, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(ticks) * 1e4 / float64(n)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// do sends one request, checks it is a 200 chat.completion (or response
// object), and returns its latency.
func (t *target) do() (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", t.auth)
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	el := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d body %.200s", resp.StatusCode, b)
	}
	for _, w := range t.want {
		if !bytes.Contains(b, w) {
			return 0, fmt.Errorf("status %d body %.200s", resp.StatusCode, b)
		}
	}
	return el, nil
}

type stats struct {
	N                                  int
	Errors                             int64
	MeanUs, P50Us, P90Us, P99Us, MaxUs float64
}

func summarize(d []time.Duration, errs int64) stats {
	if len(d) == 0 {
		return stats{Errors: errs}
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		i = max(0, min(i, len(d)-1))
		return float64(d[i].Nanoseconds()) / 1e3
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return stats{N: len(d), Errors: errs, MeanUs: float64(sum.Nanoseconds()) / float64(len(d)) / 1e3,
		P50Us: q(0.50), P90Us: q(0.90), P99Us: q(0.99), MaxUs: q(1.0)}
}

type loadResult struct {
	Target      string
	Concurrency int
	Round       int
	DurationS   float64
	Requests    int
	Errors      int64
	RPS         float64
	Latency     stats
	CPUUsPerReq float64 // CPU of the target's -cpu PIDs per completed request (0: none given)
}

func runLoad(t *target, conc int, dur time.Duration, maxReq int64) loadResult {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var issued, errs atomic.Int64
	lats := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	c0 := cpuTicks(t.cpu)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for ctx.Err() == nil && issued.Add(1) <= maxReq {
				d, err := t.do()
				if err != nil {
					if errs.Add(1) <= 3 {
						log.Printf("%s c=%d error: %v", t.name, conc, err)
					}
					continue
				}
				local = append(local, d)
			}
			lats[w] = local
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cpuTicks(t.cpu) - c0
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return loadResult{Target: t.name, Concurrency: conc, DurationS: el.Seconds(), Requests: len(all),
		Errors: errs.Load(), RPS: float64(len(all)) / el.Seconds(), Latency: summarize(all, errs.Load()),
		CPUUsPerReq: cpuUsPerReq(cpu, len(all)+int(errs.Load()))}
}

func main() {
	directURL := flag.String("direct", "", "direct upstream chat completions URL")
	proxyURL := flag.String("proxy", "", "optional bare reverse proxy chat completions URL (hop floor)")
	gwURL := flag.String("gateway", "", "another gateway chat completions URL (optional; any other gateway to compare)")
	rpURL := flag.String("rampart", "", "Rampart edge chat completions URL (optional)")
	rpModel := flag.String("rampart-model", "gpt-4o-mini", "model name sent to Rampart")
	rpRespURL := flag.String("rampart-responses", "", "Rampart edge /v1/responses URL (optional): the same prompt on the Responses API, target \"responses\"")
	rpKeyEnv := flag.String("rampart-key-env", "RAMPART_ADMIN_KEY", "environment variable holding Rampart's bearer key")
	var cpuFlags multiFlag
	flag.Var(&cpuFlags, "cpu", "target=pid[+pid...]: charge these processes' CPU to target (repeatable)")
	directModel := flag.String("direct-model", "gpt-4o-mini", "model name sent directly and via the proxy")
	gwModel := flag.String("gateway-model", "openai/gpt-4o-mini", "model name sent to the gateway")
	n := flag.Int("n", 2000, "sequential requests per target")
	warm := flag.Int("warmup", 200, "sequential warm-up requests per target (not recorded)")
	concs := flag.String("conc", "16,64", "comma-separated concurrency levels")
	dur := flag.Duration("dur", 10*time.Second, "duration of each load phase")
	rounds := flag.Int("rounds", 2, "rounds of load phases (target order rotates each round)")
	maxReq := flag.Int64("max-requests", 1_000_000, "hard cap on requests per load phase")
	jsonOut := flag.String("json", "", "write all results as JSON here")
	flag.Parse()
	if *directURL == "" || (*gwURL == "" && *rpURL == "") {
		log.Fatal("-direct and one of -gateway/-rampart are required")
	}
	levels, maxC := parseLevels(*concs)
	targets := []*target{newTarget("direct", *directURL, *directModel, maxC)}
	if *proxyURL != "" {
		targets = append(targets, newTarget("proxy", *proxyURL, *directModel, maxC))
	}
	if *gwURL != "" {
		targets = append(targets, newTarget("gateway", *gwURL, *gwModel, maxC))
	}
	if *rpURL != "" {
		rt := newTarget("rampart", *rpURL, *rpModel, maxC)
		k := os.Getenv(*rpKeyEnv)
		if k == "" {
			log.Fatalf("$%s is empty", *rpKeyEnv)
		}
		rt.auth = "Bearer " + k
		targets = append(targets, rt)
		if *rpRespURL != "" {
			rr := newTarget("responses", *rpRespURL, *rpModel, maxC)
			rr.auth = rt.auth
			rr.body, _ = json.Marshal(map[string]any{"model": *rpModel, "input": "Say hello."})
			rr.want = [][]byte{[]byte(`"object":"response"`), []byte(`"status":"completed"`)}
			targets = append(targets, rr)
		}
	}
	chargeCPU(targets, cpuFlags)
	// Warm-up: opens connections and fills pools on every hop.
	warmUp(targets, *warm)
	seqStats, pairedMed, seqCPU := sequential(targets, *n)
	loads := closedLoop(targets, levels, *dur, *rounds, *maxReq)
	for _, t := range targets[1:] {
		total := 0
		for _, l := range loads {
			if l.Target == t.name {
				total += l.Requests + int(l.Errors)
			}
		}
		fmt.Printf("requests sent to %s in total: %d\n", t.name, total+*warm+*n)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{
			"sequential":                seqStats,
			"paired_median_diff_us":     pairedMed,
			"sequential_cpu_us_per_req": seqCPU,
			"load":                      loads,
		}, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o600); err != nil {
			log.Fatal(err)
		}
	}
}

// parseLevels reads -conc: the concurrency levels ("none": no load phase)
// and the highest one.
func parseLevels(concs string) (levels []int, maxC int) {
	maxC = 1
	for _, s := range strings.Split(concs, ",") {
		if s == "none" {
			continue
		}
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 || c > 1024 {
			log.Fatalf("bad concurrency %q", s)
		}
		levels = append(levels, c)
		maxC = max(maxC, c)
	}
	return levels, maxC
}

// chargeCPU reads the -cpu flags: the processes whose CPU each target is
// charged.
func chargeCPU(targets []*target, cpuFlags multiFlag) {
	for _, cf := range cpuFlags {
		name, list, ok := strings.Cut(cf, "=")
		if !ok {
			log.Fatalf("bad -cpu %q", cf)
		}
		for _, t := range targets {
			if t.name == name {
				for _, p := range strings.Split(list, "+") {
					pid, err := strconv.Atoi(p)
					if err != nil {
						log.Fatalf("bad pid in -cpu %q", cf)
					}
					t.cpu = append(t.cpu, pid)
				}
			}
		}
	}
}

// rotated is targets starting at the k-th: the order changes every step so
// no target always goes first.
func rotated(targets []*target, k int) []*target {
	k %= len(targets)
	return append(append([]*target{}, targets[k:]...), targets[:k]...)
}

// warmUp opens connections and fills pools on every hop.
func warmUp(targets []*target, warm int) {
	for i := 0; i < warm; i++ {
		for _, t := range targets {
			if _, err := t.do(); err != nil {
				log.Fatalf("warm-up %s: %v", t.name, err)
			}
		}
	}

}

// sequential is phase 1: n requests per target, interleaved, with the
// latency each adds over the direct call in the same step.
func sequential(targets []*target, n int) (seqStats map[string]stats, pairedMed, seqCPU map[string]float64) {
	// Phase 1: sequential, interleaved.
	seq := map[string][]time.Duration{}
	seqErr := map[string]int64{}
	paired := map[string][]time.Duration{} // per target, latency minus the direct call in the same step
	seqCPU0 := map[string]int64{}
	for _, t := range targets {
		seqCPU0[t.name] = cpuTicks(t.cpu)
	}
	for i := 0; i < n; i++ {
		got := map[string]time.Duration{}
		for _, t := range rotated(targets, i) {
			d, err := t.do()
			if err != nil {
				seqErr[t.name]++
				continue
			}
			seq[t.name] = append(seq[t.name], d)
			got[t.name] = d
		}
		if b, ok := got["direct"]; ok {
			for name, a := range got {
				if name != "direct" {
					paired[name] = append(paired[name], a-b)
				}
			}
		}
	}
	seqCPU = map[string]float64{}
	for _, t := range targets {
		if len(t.cpu) > 0 {
			seqCPU[t.name] = cpuUsPerReq(cpuTicks(t.cpu)-seqCPU0[t.name], n)
		}
	}
	seqStats = map[string]stats{}
	pairedMed = map[string]float64{}
	fmt.Printf("== sequential (n=%d per target, interleaved), microseconds\n", n)
	fmt.Printf("%-8s %8s %8s %8s %8s %8s %6s\n", "target", "mean", "p50", "p90", "p99", "max", "errors")
	for _, t := range targets {
		st := summarize(seq[t.name], seqErr[t.name])
		seqStats[t.name] = st
		fmt.Printf("%-8s %8.1f %8.1f %8.1f %8.1f %8.1f %6d", t.name, st.MeanUs, st.P50Us, st.P90Us, st.P99Us, st.MaxUs, st.Errors)
		if c, ok := seqCPU[t.name]; ok {
			fmt.Printf("  cpu %.0f us/req", c)
		}
		fmt.Println()
	}
	sd := seqStats["direct"]
	for _, t := range targets[1:] {
		st := seqStats[t.name]
		p := paired[t.name]
		slices.Sort(p)
		if len(p) > 0 {
			pairedMed[t.name] = float64(p[len(p)/2].Nanoseconds()) / 1e3
		}
		fmt.Printf("added by %-7s p50 %.1f us, p99 %.1f us, mean %.1f us; median of paired differences %.1f us\n",
			t.name, st.P50Us-sd.P50Us, st.P99Us-sd.P99Us, st.MeanUs-sd.MeanUs, pairedMed[t.name])
	}

	return seqStats, pairedMed, seqCPU
}

// closedLoop is phase 2: each concurrency level for dur, rounds times, the
// target order rotating every round, then the summary.
func closedLoop(targets []*target, levels []int, dur time.Duration, rounds int, maxReq int64) []loadResult {
	// Phase 2: closed-loop throughput.
	var loads []loadResult
	fmt.Printf("\n== closed-loop load, %s per phase, %d rounds\n", dur, rounds)
	fmt.Printf("%-8s %5s %5s %9s %9s %9s %9s %6s %8s\n", "target", "conc", "round", "req/s", "p50 us", "p99 us", "requests", "errors", "cpu/req")
	for _, c := range levels {
		for r := 0; r < rounds; r++ {
			for _, t := range rotated(targets, r) {
				lr := runLoad(t, c, dur, maxReq)
				lr.Round = r + 1
				loads = append(loads, lr)
				fmt.Printf("%-8s %5d %5d %9.0f %9.1f %9.1f %9d %6d %8.0f\n", lr.Target, c, lr.Round, lr.RPS, lr.Latency.P50Us, lr.Latency.P99Us, lr.Requests, lr.Errors, lr.CPUUsPerReq)
				time.Sleep(500 * time.Millisecond)
			}
		}
	}
	fmt.Printf("\n== summary (mean req/s over rounds; p50/p99 us under load, mean over rounds)\n")
	for _, c := range levels {
		line := fmt.Sprintf("conc %3d:", c)
		var direct float64
		for _, t := range targets {
			var rps, p50, p99, k float64
			for _, l := range loads {
				if l.Concurrency == c && l.Target == t.name {
					rps += l.RPS
					p50 += l.Latency.P50Us
					p99 += l.Latency.P99Us
					k++
				}
			}
			rps, p50, p99 = rps/k, p50/k, p99/k
			if t.name == "direct" {
				direct = rps
				line += fmt.Sprintf("  direct %.0f req/s (p50 %.0f, p99 %.0f)", rps, p50, p99)
			} else {
				line += fmt.Sprintf("  %s %.0f req/s = %.1f%% (p50 %.0f, p99 %.0f)", t.name, rps, 100*rps/direct, p50, p99)
			}
		}
		fmt.Println(line)
	}
	return loads
}
