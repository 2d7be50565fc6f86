package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// probePace is the pause between two probe requests (one in flight at a
// time).
const probePace = 5 * time.Millisecond

// sample is one probe request.
type sample struct {
	start, end time.Time
	ok         bool
}

// prober is the failover client: one request every probePace, round robin
// over the edges, skipping for a second an edge whose connection failed
// (what a client-side load balancer with passive health checks does). It
// never retries: a failed request is counted as failed.
type prober struct {
	c    *client
	op   func(edge, i int) error
	mu   sync.Mutex
	down map[int]time.Time // edge → skipped until

	samples []sample
}

func (p *prober) pick(i int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.c.edges)
	for k := range n {
		e := (i + k) % n
		if time.Now().After(p.down[e]) {
			return e
		}
	}
	return i % n
}

// run probes until stop is closed.
func (p *prober) run(stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		e := p.pick(i)
		s := sample{start: time.Now()}
		err := p.op(e, i)
		s.end, s.ok = time.Now(), err == nil
		var se *statusError
		if err != nil && !errors.As(err, &se) { // a transport error: the edge is gone
			p.mu.Lock()
			p.down[e] = time.Now().Add(time.Second)
			p.mu.Unlock()
		}
		p.samples = append(p.samples, s)
		time.Sleep(probePace)
	}
}

// kill is one measured kill.
type kill struct {
	Victim string
	// Both from the kill request: FirstOK to the end of the first
	// successful probe request sent after the victim was dead (the control
	// API answered), Recovered to the end of the last failed probe request
	// (0 when none failed). Kill is how long the kill request took.
	FirstOK, Recovered, Kill time.Duration
	Failed, Probes           int
	Restart                  time.Duration // restart → healthy (the control API waits for it)
}

// failoverVictims alternates the replica of each service; two edge kills
// per ten.
var failoverVictims = []string{"keyvault-1", "inference-1", "keyvault-2", "inference-2", "edge-1",
	"keyvault-2", "inference-1", "keyvault-1", "inference-2", "edge-2"}

// measureFailover kills n replicas one after the other, each down for
// down under the probe, then restarts it.
func measureFailover(s *stack, c *client, n int, down time.Duration, logw io.Writer) ([]kill, error) {
	var kills []kill
	for k := range n {
		victim := failoverVictims[k%len(failoverVictims)]
		op := func(edge, _ int) error {
			return c.do(edge, http.MethodGet, "/v1/secrets"+benchSecret+":value", nil, nil)
		}
		if strings.HasPrefix(victim, "inference") {
			op = func(edge, i int) error { return chat(c, edge, 99, i) }
		}
		p := &prober{c: c, op: op, down: map[int]time.Time{}}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { p.run(stop); close(done) }()
		time.Sleep(300 * time.Millisecond) // the probe is warm and succeeding
		killAt := time.Now()
		if _, err := s.control(http.MethodPost, "/v1/processes/"+victim+"/kill"); err != nil {
			close(stop)
			<-done
			return nil, err
		}
		dead := time.Now() // the control API answers once the process is gone
		time.Sleep(down)
		close(stop)
		<-done
		t0 := time.Now()
		if _, err := s.control(http.MethodPost, "/v1/processes/"+victim+"/restart"); err != nil {
			return nil, err
		}
		kl := kill{Victim: victim, Restart: time.Since(t0), FirstOK: -1, Kill: dead.Sub(killAt)}
		for _, sm := range p.samples {
			if sm.end.Before(killAt) {
				continue // answered before the kill
			}
			kl.Probes++
			if !sm.ok {
				kl.Failed++
				kl.Recovered = max(kl.Recovered, sm.end.Sub(killAt))
			}
			if sm.ok && !sm.start.Before(dead) && kl.FirstOK < 0 {
				kl.FirstOK = sm.end.Sub(killAt)
			}
		}
		if kl.FirstOK < 0 {
			return nil, fmt.Errorf("kill %s: no successful request within %s of the kill", victim, down)
		}
		fmt.Fprintf(logw, "benchha: killed %-12s first success after %7s, errors until %7s (%d of %d probes failed), restarted and healthy in %s\n",
			victim, kl.FirstOK.Round(time.Microsecond), kl.Recovered.Round(time.Microsecond), kl.Failed, kl.Probes, kl.Restart.Round(time.Millisecond))
		kills = append(kills, kl)
		time.Sleep(500 * time.Millisecond) // the restarted replica rejoins the balancers
	}
	return kills, nil
}
