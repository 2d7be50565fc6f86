// Command benchstack measures the stack users run (`rampart dev`: separate
// processes, real config) against an instant fake OpenAI-compatible
// upstream, in the same run as the upstream called directly, a bare
// httputil.ReverseProxy hop and the two-hop floor (hopfloor), and prints a
// markdown table with ratios against the floor. `make bench-stack` runs it.
//
// Sizes come from the environment: BENCH_REQUESTS (sequential requests per
// target, default 2000), BENCH_SECONDS (each closed-loop phase, default 10),
// BENCH_ROUNDS (default 2), BENCH_WARMUP (default 200), BENCH_IDLE_SECONDS
// (the idle measurement, default 10). Everything listens
// on loopback only.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

func main() {
	root := flag.String("root", ".", "repository root (holds go.work)")
	out := flag.String("out", "", "also write the markdown table here")
	flag.Parse()
	res, err := run(*root, sizesFromEnv(), os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	md := res.markdown()
	fmt.Println()
	fmt.Print(md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o600); err != nil {
			log.Fatal(err)
		}
	}
}

// sizes are the run's dimensions; the defaults are issue 15's.
type sizes struct {
	Requests, Seconds, Rounds, Warmup int
	Idle                              int // seconds of the idle measurement
}

func sizesFromEnv() sizes {
	get := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	s := sizes{Requests: get("BENCH_REQUESTS", 2000), Seconds: get("BENCH_SECONDS", 10), Rounds: get("BENCH_ROUNDS", 2)}
	s.Warmup = get("BENCH_WARMUP", min(200, max(s.Requests/10, 10)))
	s.Idle = get("BENCH_IDLE_SECONDS", 10)
	return s
}

// procGrace is how long a stopped process of the run may take to exit.
// hopfloor's back half dies with its front (Pdeathsig); everything else
// is stopped explicitly.
const procGrace = 30 * time.Second

// childOf finds a direct child process of ppid (hopfloor's back half).
func childOf(ppid int) (int, error) {
	for range 100 {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			s := string(b)
			f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
			if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
				return pid, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, fmt.Errorf("no child of %d", ppid)
}

// cpuTicks is utime+stime of one process in clock ticks (USER_HZ=100).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st
}

// rssMB is VmRSS of pid in MB.
func rssMB(pid int) float64 { return statusMB(pid, "VmRSS:") }

// statusMB is one kB field of /proc/pid/status in MB.
func statusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

var pidLine = regexp.MustCompile(`(?m)^\s+(\w+)\s+pid (\d+)\s`)

// result is everything one run measured.
type result struct {
	Sizes      sizes
	LoadAvg    string
	Loadgen    loadgenJSON
	Breakdown  map[string]float64 // share of Rampart's CPU in the load phases, per service
	RSS        map[string]float64 // MB after the run, per process
	Secrets    []secretRow
	SecretHops secretRow // the two-hop floor of a secret read (hopfloor -answer)
	// Vault is the optional baseline (BENCH_VAULT): Vault dev without and
	// with a file audit device, read the same way as the REST read.
	Vault      []secretRow
	GRPCSecret secretRow
	GRPCRPS    map[int]float64 // gRPC reads/s by concurrency
	GRPCCPU    map[int]float64 // keyvault CPU µs per gRPC read by concurrency
	Stream     streamRow
	Idle       idleRow
	Targets    []string
	StackPIDs  map[string]int
	RunSeconds float64
}

type loadgenJSON struct {
	Sequential map[string]struct {
		N                    int
		Errors               int64
		MeanUs, P50Us, P99Us float64
	} `json:"sequential"`
	SequentialCPU map[string]float64 `json:"sequential_cpu_us_per_req"`
	Load          []struct {
		Target      string
		Concurrency int
		Round       int
		Requests    int
		Errors      int64
		RPS         float64
		CPUUsPerReq float64
	} `json:"load"`
}

func run(root string, sz sizes, logw io.Writer) (*result, error) {
	t0 := time.Now()
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "rampart-benchstack-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(work) }()
	h := &harness{work: work, bin: filepath.Join(work, "bin")}
	fmt.Fprintf(logw, "benchstack: building into %s\n", h.bin)
	if err := devenv.Build(root, h.bin, "./tests/e2e/benchstack/fakeupstream", "./tests/e2e/benchstack/hopfloor", "./tests/e2e/benchstack/loadgen"); err != nil {
		return nil, err
	}
	defer h.stop()
	if err := h.startFloors(); err != nil {
		return nil, err
	}
	if err := h.startStack(); err != nil {
		return nil, err
	}
	res := &result{Sizes: sz, StackPIDs: h.pids, Targets: []string{"direct", "proxy", "gateway", "rampart", "responses"}}
	if err := h.benchChat(res, sz, logw); err != nil {
		return nil, err
	}
	if err := h.benchRest(res, sz, logw); err != nil {
		return nil, err
	}
	res.RunSeconds = time.Since(t0).Seconds()
	return res, nil
}

// harness is a run's processes: the fake upstream, the bare proxy, the
// two-hop floor and `rampart dev`, stopped in reverse order.
type harness struct {
	work, bin string
	procs     []*devenv.Proc

	upAddr, pxAddr, hfAddr string
	proxy, hf              *devenv.Proc
	hfBack                 int // the floor's back process
	// The secret read's two-hop floor (hopfloor -answer) and its back.
	sfAddr string
	sf     *devenv.Proc
	sfBack int

	dataDir, admin, base string
	pids                 map[string]int
	env                  map[string]string
}

func (h *harness) stop() {
	for i := len(h.procs) - 1; i >= 0; i-- {
		h.procs[i].Stop(procGrace)
	}
}

// launch starts one of the built binaries and waits for the address it
// writes to addrFile.
func (h *harness) launch(name, addrFile string, env []string, args ...string) (*devenv.Proc, string, error) {
	p, err := devenv.Start(name, filepath.Join(h.bin, strings.Fields(name)[0]), env, args...)
	if err != nil {
		return nil, "", err
	}
	h.procs = append(h.procs, p)
	addr, err := devenv.WaitFile(addrFile, 30*time.Second)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w\n%s", name, err, p.Out.String())
	}
	return p, addr, nil
}

// startFloors starts the fake upstream, the bare proxy in front of it and
// the two-hop floor.
func (h *harness) startFloors() error {
	var err error
	work := h.work
	if _, h.upAddr, err = h.launch("fakeupstream", filepath.Join(work, "up.addr"), nil, "-addr-file", filepath.Join(work, "up.addr")); err != nil {
		return err
	}
	if h.proxy, h.pxAddr, err = h.launch("fakeupstream (proxy)", filepath.Join(work, "px.addr"), nil, "-proxy", "http://"+h.upAddr, "-addr-file", filepath.Join(work, "px.addr")); err != nil {
		return err
	}
	if h.hf, h.hfAddr, err = h.launch("hopfloor", filepath.Join(work, "hf.addr"), nil, "-upstream", "http://"+h.upAddr, "-addr-file", filepath.Join(work, "hf.addr")); err != nil {
		return err
	}
	if h.hfBack, err = childOf(h.hf.Cmd.Process.Pid); err != nil {
		return err
	}
	if h.sf, h.sfAddr, err = h.launch("hopfloor -answer", filepath.Join(work, "sf.addr"), nil, "-answer", "-addr-file", filepath.Join(work, "sf.addr")); err != nil {
		return err
	}
	h.sfBack, err = childOf(h.sf.Cmd.Process.Pid)
	return err
}

// startStack starts the stack, as `make run` starts it, with an openai
// upstream pointed at the fake and the edge's limits out of the way (1e9
// per minute: the limiter still runs on every request), and reads its
// pids, admin key and URL.
func (h *harness) startStack() error {
	upAddr, work, bin := h.upAddr, h.work, h.bin
	models := map[string]any{
		"upstreams": map[string]any{
			"fake": map[string]any{"type": "openai", "base_url": "http://" + upAddr + "/v1", "api_key_env": "BENCH_FAKE_UPSTREAM_KEY", "max_retries": -1},
			// The same fake on its paced route (a stream's events after
			// the role chunk come -stream-gap later): the streaming pass's
			// paced pair (ADR 0130).
			"fake-paced": map[string]any{"type": "openai", "base_url": "http://" + upAddr + "/paced/v1", "api_key_env": "BENCH_FAKE_UPSTREAM_KEY", "max_retries": -1},
		},
		"models": []any{
			map[string]any{"id": "gpt-4o-mini", "upstream": "fake", "upstream_model": "gpt-4o-mini"},
			map[string]any{"id": pacedModel, "upstream": "fake-paced", "upstream_model": "gpt-4o-mini"},
			map[string]any{"id": "rampart-extractive", "upstream": "local", "owned_by": "rampart"},
			map[string]any{"id": "echo", "upstream": "local", "owned_by": "rampart"},
			map[string]any{"id": "rampart-hash-embed", "kind": "embedding", "upstream": "local", "owned_by": "rampart", "max_dimensions": 4096},
		},
		"default": map[string]any{"allowed_models": []string{"*"}},
	}
	mb, _ := json.Marshal(models)
	modelsPath := filepath.Join(work, "models.json")
	if err := os.WriteFile(modelsPath, mb, 0o600); err != nil {
		return err
	}
	dataDir := filepath.Join(work, "data")
	h.dataDir = dataDir
	dev, err := devenv.Start("rampart", filepath.Join(bin, "rampart"), []string{
		"RAMPART_INFERENCE_MODELS=" + modelsPath, "BENCH_FAKE_UPSTREAM_KEY=sk-fake-upstream",
		"RAMPART_EDGE_DEFAULT_KEY_RPM=1000000000", "RAMPART_EDGE_DEFAULT_TENANT_RPM=1000000000",
	}, "dev", "--data-dir", dataDir, "--bin-dir", bin, "--http-addr", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h.procs = append(h.procs, dev)
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(dev.Out.String(), "Rampart is up") {
		if time.Now().After(deadline) {
			return fmt.Errorf("stack not up after 3m:\n%s", dev.Out.String())
		}
		select {
		case <-dev.Exited:
			return fmt.Errorf("rampart dev exited:\n%s", dev.Out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	pids := map[string]int{}
	for _, m := range pidLine.FindAllStringSubmatch(dev.Out.String(), -1) {
		pids[m[1]], _ = strconv.Atoi(m[2])
	}
	for _, s := range []string{"edge", "inference", "auth", "keyvault"} {
		if pids[s] == 0 {
			return fmt.Errorf("no pid for %s in rampart dev's output:\n%s", s, dev.Out.String())
		}
	}
	env, err := devenv.Read(filepath.Join(dataDir, "dev.env"))
	if err != nil {
		return err
	}
	admin := env["RAMPART_ADMIN_KEY"]
	if admin == "" {
		return errors.New("dev.env has no RAMPART_ADMIN_KEY")
	}
	base := env["RAMPART_URL"] // rampart dev bound port 0 itself: no race

	h.pids, h.env, h.admin, h.base = pids, env, admin, base
	return nil
}

// benchChat runs loadgen over the chat targets and charges the stack's
// CPU to its processes.
func (h *harness) benchChat(res *result, sz sizes, logw io.Writer) error {
	pids, work, bin, upAddr, pxAddr, hfAddr, admin, base := h.pids, h.work, h.bin, h.upAddr, h.pxAddr, h.hfAddr, h.admin, h.base
	proxy, hf, hfBack := h.proxy, h.hf, h.hfBack
	// Chat: loadgen, as in the shared harness.
	rp := []int{pids["edge"], pids["inference"], pids["auth"]}
	before := map[string]int64{}
	for _, s := range []string{"edge", "inference", "auth"} {
		before[s] = cpuTicks(pids[s])
	}
	jsonPath := filepath.Join(work, "loadgen.json")
	lg := exec.Command(filepath.Join(bin, "loadgen"), //nolint:gosec // G204: our own binary
		"-direct", "http://"+upAddr+"/v1/chat/completions",
		"-proxy", "http://"+pxAddr+"/v1/chat/completions",
		"-gateway", "http://"+hfAddr+"/v1/chat/completions", "-gateway-model", "gpt-4o-mini",
		"-rampart", base+"/v1/chat/completions",
		"-rampart-responses", base+"/v1/responses",
		"-cpu", fmt.Sprintf("rampart=%d+%d+%d", rp[0], rp[1], rp[2]),
		"-cpu", fmt.Sprintf("responses=%d+%d+%d", rp[0], rp[1], rp[2]),
		"-cpu", fmt.Sprintf("proxy=%d", proxy.Cmd.Process.Pid),
		"-cpu", fmt.Sprintf("gateway=%d+%d", hf.Cmd.Process.Pid, hfBack),
		"-n", strconv.Itoa(sz.Requests), "-warmup", strconv.Itoa(sz.Warmup),
		"-conc", "16,64", "-dur", fmt.Sprintf("%ds", sz.Seconds), "-rounds", strconv.Itoa(sz.Rounds),
		"-json", jsonPath)
	lg.Env = append(devenv.Clean(), "RAMPART_ADMIN_KEY="+admin)
	lg.Stdout, lg.Stderr = logw, logw
	if err := lg.Run(); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	lb, err := os.ReadFile(jsonPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(lb, &res.Loadgen); err != nil {
		return err
	}
	var total int64
	delta := map[string]int64{}
	for s, b := range before {
		delta[s] = cpuTicks(pids[s]) - b
		total += delta[s]
	}
	res.Breakdown = map[string]float64{}
	for s, d := range delta {
		if total > 0 {
			res.Breakdown[s] = float64(d) / float64(total)
		}
	}

	return nil
}

// benchRest measures secret reads, streaming, the idle stack and memory.
func (h *harness) benchRest(res *result, sz sizes, logw io.Writer) error {
	var err error
	pids, env, dataDir, admin, base, upAddr := h.pids, h.env, h.dataDir, h.admin, h.base, h.upAddr
	// Secrets: REST through the edge next to a bare net/http floor.
	floors := secretFloors{http: "http://" + upAddr + "/secret", hops: "http://" + h.sfAddr + "/", hopsPIDs: []int{h.sf.Cmd.Process.Pid, h.sfBack}}
	if floors.vaults, err = h.startVaults(benchSecretValue); err != nil {
		return err
	}
	res.Secrets, res.SecretHops, res.Vault, err = benchSecrets(base, admin, floors, sz, pids)
	if err != nil {
		return err
	}
	// Secrets over gRPC, keyvault directly (as the edge calls it).
	res.GRPCSecret, res.GRPCRPS, res.GRPCCPU, err = benchGRPCSecrets(context.Background(), env, pkiDirOf(dataDir), admin, benchSecretName, sz, pids)
	if err != nil {
		return err
	}
	// Streaming chat: time to first byte, direct vs through the stack,
	// interleaved with the same request without streaming and with the
	// stream from the fake's paced route.
	fmt.Fprintf(logw, "benchstack: streaming time to first byte (instant and paced upstream) and non-streaming, one interleaved pass (%d requests per target)\n", sz.Requests)
	res.Stream, err = benchStreaming(base, admin, "http://"+upAddr, sz)
	if err != nil {
		return err
	}
	fmt.Fprintf(logw, "benchstack: idle stack for %d s\n", sz.Idle)
	res.Idle = measureIdle(pids, sz.Idle)
	res.RSS = map[string]float64{}
	for _, s := range []string{"edge", "inference", "auth", "keyvault"} {
		res.RSS[s] = rssMB(pids[s])
	}
	res.RSS["hopfloor"] = rssMB(h.hf.Cmd.Process.Pid) + rssMB(h.hfBack)
	res.RSS["proxy"] = rssMB(h.proxy.Cmd.Process.Pid)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return nil
}

// benchSecretName is the secret the secrets phases read (env/app/type/name).
const benchSecretName = "/dev/bench/token/one" //nolint:gosec // G101: a secret's name, not a credential

// benchSecretValue is the bench secret's value (a made-up string).
const benchSecretValue = "bench-secret-value-0123456789" //nolint:gosec // G101: a made-up value of the bench's own secret

// secretRow is one secrets measurement.
type secretRow struct {
	Name        string
	Sequential  latStats
	RPS16       float64
	Requests16  int
	Errors      int64
	CPUUsPerReq float64 // edge+auth+keyvault CPU per request under load (0 for the floor)
	// CPUSplit is CPUUsPerReq per process (CPUNames: edge, auth,
	// keyvault; the two-hop floor's front and back), so the table shows
	// which process is above the floor's.
	CPUSplit []float64
	CPUNames []string
}

type latStats struct {
	N        int
	P50, P99 float64 // µs
	Errors   int64
}

func summarize(d []time.Duration, errs int64) latStats {
	if len(d) == 0 {
		return latStats{Errors: errs}
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		i = max(0, min(i, len(d)-1))
		return float64(d[i].Nanoseconds()) / 1e3
	}
	return latStats{N: len(d), Errors: errs, P50: q(0.5), P99: q(0.99)}
}

type httpTarget struct {
	name   string
	method string
	url    string
	auth   string
	body   func(i int) []byte
	want   string
	client *http.Client
	cpu    []int
	// cpuNames name the cpu processes in the table (same order).
	cpuNames []string
}

func (t *httpTarget) do(i int) (time.Duration, error) {
	var body io.Reader
	if t.body != nil {
		body = bytes.NewReader(t.body(i))
	}
	req, _ := http.NewRequest(t.method, t.url, body)
	req.Header.Set("Content-Type", "application/json")
	if t.auth != "" {
		req.Header.Set("Authorization", t.auth)
	}
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	el := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(t.want)) {
		return 0, fmt.Errorf("%s: status %d", t.name, resp.StatusCode) // the body may hold a secret: not logged
	}
	return el, nil
}

// benchSecrets: sequential interleaved reads (the two floors, REST read)
// and writes, then a closed loop at concurrency 16 for the reads, same
// client settings as loadgen.
// secretFloors are the secret reads' floors: the bare net/http answer and
// the two-hop chain (hopfloor -answer) with its two processes.
type secretFloors struct {
	http, hops string
	hopsPIDs   []int
	// vaults are the optional baseline's servers (BENCH_VAULT), read in
	// the same interleaved loop and closed loops as the floors.
	vaults []*vaultServer
}

// benchSecrets returns the rows of the HTTP floor and the REST read and
// write, the two-hop floor's row and the Vault baseline's rows (none
// without BENCH_VAULT); a failed read of a floor or a baseline fails the
// run (their numbers would mean nothing).
func benchSecrets(base, admin string, floors secretFloors, sz sizes, pids map[string]int) ([]secretRow, secretRow, []secretRow, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128, IdleConnTimeout: 90 * time.Second, DisableCompression: true}, Timeout: 10 * time.Second}
	const name = benchSecretName
	const value = benchSecretValue
	seed := &httpTarget{name: "seed", method: http.MethodPost, url: base + "/v1/secrets", auth: "Bearer " + admin,
		body: func(int) []byte { return []byte(`{"name":"` + name + `","secret_string":"` + value + `"}`) }, want: "{", client: client}
	if _, err := seed.do(0); err != nil {
		return nil, secretRow{}, nil, fmt.Errorf("create bench secret: %w", err)
	}
	svc := []int{pids["edge"], pids["auth"], pids["keyvault"]}
	svcNames := []string{"edge", "auth", "keyvault"}
	targets := []*httpTarget{
		{name: "HTTP floor read (bare net/http)", method: http.MethodGet, url: floors.http, want: "secret_string", client: client},
		{name: "REST read through the edge", method: http.MethodGet, url: base + "/v1/secrets" + name + ":value", auth: "Bearer " + admin, want: value, client: client, cpu: svc, cpuNames: svcNames},
		{name: "REST write through the edge", method: http.MethodPost, url: base + "/v1/secrets" + name + ":putValue", auth: "Bearer " + admin,
			body: func(int) []byte { return []byte(`{"secret_string":"` + value + `"}`) }, want: "{", client: client, cpu: svc},
		{name: "two-hop floor read (net/http → mTLS gRPC → fixed answer; CPU of both)", method: http.MethodGet, url: floors.hops, want: "secret_string", client: client, cpu: floors.hopsPIDs, cpuNames: []string{"front", "back"}},
	}
	// Writes create versions: fewer of them keeps the run short.
	seqN := []int{sz.Requests, sz.Requests, max(sz.Requests/4, 10), sz.Requests}
	reads := []int{0, 1, 3}
	for _, v := range floors.vaults {
		reads = append(reads, len(targets))
		targets = append(targets, v.target(client, value))
		seqN = append(seqN, sz.Requests)
	}
	lat := make([][]time.Duration, len(targets))
	errs := make([]int64, len(targets))
	for i := range min(sz.Warmup, 50) {
		for _, j := range reads {
			if _, err := targets[j].do(i); err != nil {
				return nil, secretRow{}, nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	for i := range sz.Requests {
		for k := range targets {
			j := (k + i) % len(targets) // rotating order
			if i >= seqN[j] {
				continue
			}
			d, err := targets[j].do(i)
			if err != nil {
				errs[j]++
				continue
			}
			lat[j] = append(lat[j], d)
		}
	}
	var rows []secretRow
	for j, t := range targets {
		rows = append(rows, secretRow{Name: t.name, Sequential: summarize(lat[j], errs[j]), Errors: errs[j]})
	}
	closedLoopReads(targets, rows, reads, sz)
	for _, j := range append([]int{0}, reads[2:]...) {
		if e := rows[j].Errors; e > 0 {
			return nil, secretRow{}, nil, fmt.Errorf("%s: %d failed reads", rows[j].Name, e)
		}
	}
	return rows[:3], rows[3], rows[4:], nil
}

// closedLoopReads runs each of the reads at concurrency 16 for
// sz.Seconds per round, rounds rotating the order, into rows.
func closedLoopReads(targets []*httpTarget, rows []secretRow, reads []int, sz sizes) {
	for r := range sz.Rounds {
		for k := range reads {
			j := reads[(k+r)%len(reads)]
			n, e, split := closedLoop(targets[j], 16, time.Duration(sz.Seconds)*time.Second)
			rows[j].RPS16 += n / float64(sz.Seconds) / float64(sz.Rounds)
			rows[j].Requests16 += int(n)
			rows[j].Errors += e
			if rows[j].CPUSplit == nil {
				rows[j].CPUSplit, rows[j].CPUNames = make([]float64, len(split)), targets[j].cpuNames
			}
			for i, c := range split {
				rows[j].CPUUsPerReq += c / float64(sz.Rounds)
				rows[j].CPUSplit[i] += c / float64(sz.Rounds)
			}
		}
	}
}

// closedLoop runs t at concurrency conc for dur: successful requests,
// errors, and the CPU per request (µs) of each of t.cpu's processes.
func closedLoop(t *httpTarget, conc int, dur time.Duration) (float64, int64, []float64) {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var ok, errs atomic.Int64
	c0 := make([]int64, len(t.cpu))
	for i, p := range t.cpu {
		c0[i] = cpuTicks(p)
	}
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += conc {
				if _, err := t.do(i); err != nil {
					errs.Add(1)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	cpu := make([]float64, len(t.cpu))
	if n := ok.Load() + errs.Load(); n > 0 {
		for i, p := range t.cpu {
			cpu[i] = float64(cpuTicks(p)-c0[i]) * 1e4 / float64(n)
		}
	}
	return float64(ok.Load()), errs.Load(), cpu
}
