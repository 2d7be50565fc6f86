package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// streamRow is streaming time to first byte next to the non-streaming
// request, all four measured in one sequential pass, interleaved request by
// request (the order rotating every step), so the comparison of the two
// added latencies is made under the same host conditions.
type streamRow struct {
	Direct, Rampart latStats // time to first byte, stream:true
	// NonStreamDirect and NonStreamRampart are the same chat request without
	// stream:true, timed to the end of the body as loadgen times it.
	NonStreamDirect, NonStreamRampart latStats
	// PacedDirect and PacedRampart are the stream's time to first byte
	// from the fake's paced route, whose events after the role chunk come
	// a model's pause later (fakeupstream -stream-gap): with the instant
	// route the stack's work on the rest of the stream shares the two
	// cores with the first byte's relay, which no model's stream does
	// (ADR 0130).
	PacedDirect, PacedRampart latStats
}

// Added is streaming's added time to first byte (p50) and the
// non-streaming added p50 from the same pass.
func (s streamRow) Added() (stream, nonStream float64) {
	return s.Rampart.P50 - s.Direct.P50, s.NonStreamRampart.P50 - s.NonStreamDirect.P50
}

// PacedAdded is the paced stream's added time to first byte (p50).
func (s streamRow) PacedAdded() float64 { return s.PacedRampart.P50 - s.PacedDirect.P50 }

// pacedModel is the registry's model on the fake's paced route.
const pacedModel = "gpt-4o-mini-paced"

// streamBody and chatBody are the streaming request and loadgen's
// non-streaming one (the same prompt and model); pacedBody is the stream
// through the stack to the paced route (the fake called directly gets
// streamBody on its paced path: it answers any model).
var (
	streamBody = []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello."}]}`)
	pacedBody  = []byte(`{"model":"` + pacedModel + `","stream":true,"messages":[{"role":"user","content":"Say hello."}]}`)
	chatBody   = []byte(`{"messages":[{"content":"Say hello.","role":"user"}],"model":"gpt-4o-mini"}`)
)

// streamTarget is one of the streaming pass's six requests.
type streamTarget struct {
	url, auth string
	stream    bool
	body      []byte // the request's body when not streamBody or chatBody
}

// time sends one request: for a stream, the time to the first byte of the
// body (the first Server-Sent Event; the edge writes its headers with it),
// for a plain request the time to the end of the body; either way the
// whole answer is read and checked.
func (t streamTarget) time(client *http.Client) (time.Duration, error) {
	body, want := chatBody, []byte(`"chat.completion"`)
	if t.stream {
		body, want = streamBody, []byte("[DONE]")
	}
	if t.body != nil {
		body = t.body
	}
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if t.auth != "" {
		req.Header.Set("Authorization", t.auth)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	var one [1]byte
	if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
		return 0, err
	}
	first := time.Since(start)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if !t.stream {
		first = time.Since(start)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(rest, want) {
		return 0, fmt.Errorf("%s (stream %v): status %d", t.url, t.stream, resp.StatusCode)
	}
	return first, nil
}

// benchStreaming sends stream:true chat completions to the fake directly
// and through the edge, the same request without stream:true to both, and
// the stream to the fake's paced route directly and through the edge,
// interleaved in one sequential pass (issue 15: "sequential interleaved").
func benchStreaming(base, admin, upBase string, sz sizes) (streamRow, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 16, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, DisableCompression: true}, Timeout: 10 * time.Second}
	direct, rampart := upBase+"/v1/chat/completions", base+"/v1/chat/completions"
	bearer := "Bearer " + admin
	targets := []streamTarget{
		{url: direct, stream: true}, {url: rampart, auth: bearer, stream: true},
		{url: direct}, {url: rampart, auth: bearer},
		{url: upBase + "/paced/v1/chat/completions", stream: true}, {url: rampart, auth: bearer, stream: true, body: pacedBody},
	}
	n := sz.Requests
	lat := make([][]time.Duration, len(targets))
	errs := make([]int64, len(targets))
	for i := range min(sz.Warmup, 50) {
		for _, t := range targets {
			if _, err := t.time(client); err != nil {
				return streamRow{}, fmt.Errorf("streaming warm-up (request %d): %w", i, err)
			}
		}
	}
	for i := range n {
		for k := range targets {
			j := (k + i) % len(targets) // rotating order
			d, err := targets[j].time(client)
			if err != nil {
				errs[j]++
				continue
			}
			lat[j] = append(lat[j], d)
		}
	}
	return streamRow{
		Direct: summarize(lat[0], errs[0]), Rampart: summarize(lat[1], errs[1]),
		NonStreamDirect: summarize(lat[2], errs[2]), NonStreamRampart: summarize(lat[3], errs[3]),
		PacedDirect: summarize(lat[4], errs[4]), PacedRampart: summarize(lat[5], errs[5]),
	}, nil
}

// benchGRPCSecrets reads the bench secret from keyvault over mTLS gRPC the
// way the edge does: with the edge's dev certificate and a principal
// assertion auth issued for the admin key (VerifyKey), refreshed before
// every phase. Sequential, then closed loops at concurrency 16 and 64.
func benchGRPCSecrets(ctx context.Context, env map[string]string, pkiDir, admin, name string, sz sizes, pids map[string]int) (secretRow, map[int]float64, map[int]float64, error) {
	src, err := mtls.NewSource(mtls.FilesFor(pkiDir, "edge"))
	if err != nil {
		return secretRow{}, nil, nil, fmt.Errorf("edge certificate: %w", err)
	}
	dialer := &backend.Dialer{TLS: src} // the edge's dial (mTLS, request ids)
	dial := func(addr, svc string) (*grpc.ClientConn, error) { return dialer.Dial(ctx, svc, addr) }
	authConn, err := dial(env["RAMPART_AUTH_ADDR"], "auth")
	if err != nil {
		return secretRow{}, nil, nil, err
	}
	defer func() { _ = authConn.Close() }()
	kvConn, err := dial(env["RAMPART_KEYVAULT_ADDR"], "keyvault")
	if err != nil {
		return secretRow{}, nil, nil, err
	}
	defer func() { _ = kvConn.Close() }()
	auth := authv1.NewAuthServiceClient(authConn)
	kv := keyvaultv1.NewSecretsServiceClient(kvConn)
	assert := func() (context.Context, error) {
		v, err := auth.VerifyKey(ctx, &authv1.VerifyKeyRequest{ApiKey: admin, Audiences: []string{"keyvault"}})
		if err != nil {
			return nil, fmt.Errorf("VerifyKey: %w", err)
		}
		return principal.AppendToOutgoing(ctx, v.GetAssertion()), nil
	}
	req := &keyvaultv1.GetSecretValueRequest{Name: name}
	read := func(cctx context.Context) error {
		_, err := kv.GetSecretValue(cctx, req)
		return err
	}
	cctx, err := assert()
	if err != nil {
		return secretRow{}, nil, nil, err
	}
	for range min(sz.Warmup, 50) {
		if err := read(cctx); err != nil {
			return secretRow{}, nil, nil, fmt.Errorf("gRPC read warm-up: %w", err)
		}
	}
	var lat []time.Duration
	var errs int64
	for range sz.Requests {
		start := time.Now()
		if err := read(cctx); err != nil {
			errs++
			continue
		}
		lat = append(lat, time.Since(start))
	}
	row := secretRow{Name: "gRPC read, keyvault directly (mTLS + assertion)", Sequential: summarize(lat, errs), Errors: errs}
	rps := map[int]float64{}
	cpu := map[int]float64{}
	for _, conc := range []int{16, 64} {
		for range sz.Rounds {
			cctx, err := assert()
			if err != nil {
				return secretRow{}, nil, nil, err
			}
			n, e, c := closedLoopFunc(func() error { return read(cctx) }, conc, time.Duration(sz.Seconds)*time.Second, []int{pids["keyvault"]})
			rps[conc] += n / float64(sz.Seconds) / float64(sz.Rounds)
			cpu[conc] += c / float64(sz.Rounds)
			row.Errors += e
			if conc == 16 {
				row.Requests16 += int(n)
			}
		}
	}
	row.RPS16 = rps[16]
	row.CPUUsPerReq = cpu[16]
	return row, rps, cpu, nil
}

// closedLoopFunc is closedLoop for any call: conc workers for dur, and the
// CPU per request of the processes cpuPIDs.
func closedLoopFunc(call func() error, conc int, dur time.Duration, cpuPIDs []int) (float64, int64, float64) {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var ok, errs atomic.Int64
	var c0 int64
	for _, p := range cpuPIDs {
		c0 += cpuTicks(p)
	}
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := call(); err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	var c1 int64
	for _, p := range cpuPIDs {
		c1 += cpuTicks(p)
	}
	cpu := 0.0
	if n := ok.Load() + errs.Load(); n > 0 {
		cpu = float64(c1-c0) * 1e4 / float64(n)
	}
	return float64(ok.Load()), errs.Load(), cpu
}

// idleRow is the stack doing nothing: CPU over a quiet window after the
// load has settled, and RSS, per service; and the one-off CPU the services
// spent settling after the load.
type idleRow struct {
	Seconds    int
	CPUPercent map[string]float64 // % of one core
	RSS        map[string]float64 // MB
	Anon       map[string]float64 // MB of RSS that is not the mapped binary (RssAnon)
	// SettleMS is the CPU (ms) spent from lastTimers to settled after the
	// load: the one-off work a burst leaves behind, memtrim's release
	// after a busy period (three collections) above all.
	SettleMS map[string]float64
}

// After the load: the timers of the last requests (batched writes, log
// flushes) run out by lastTimers, and by settled memtrim's one release
// after a busy period has run (pkg/memtrim: three quiet 2 s intervals,
// then three collections). Before settled the window would measure that
// one-off release rather than what an idle stack keeps doing; it is
// reported apart (SettleMS) so its cost stays visible.
const (
	lastTimers = 3 * time.Second
	settled    = 11 * time.Second
)

// measureIdle waits for the stack to settle, then reads each service's CPU
// ticks over secs seconds.
func measureIdle(pids map[string]int, secs int) idleRow {
	secs = max(secs, 1)
	time.Sleep(lastTimers)
	start := map[string]int64{}
	for s, p := range pids {
		start[s] = cpuTicks(p)
	}
	time.Sleep(settled - lastTimers)
	row := idleRow{Seconds: secs, CPUPercent: map[string]float64{}, RSS: map[string]float64{}, Anon: map[string]float64{}, SettleMS: map[string]float64{}}
	before := map[string]int64{}
	for s, p := range pids {
		before[s] = cpuTicks(p)
		row.SettleMS[s] = float64(before[s]-start[s]) * 10 // ticks are 10 ms
	}
	time.Sleep(time.Duration(secs) * time.Second)
	for s, p := range pids {
		// ticks are 10 ms: ticks*10ms / (secs s) * 100 %.
		row.CPUPercent[s] = float64(cpuTicks(p)-before[s]) / float64(secs)
		row.RSS[s] = rssMB(p)
		row.Anon[s] = statusMB(p, "RssAnon:")
	}
	return row
}

// pkiDirOf is where `rampart dev` keeps the dev PKI.
func pkiDirOf(dataDir string) string { return filepath.Join(dataDir, "pki") }
