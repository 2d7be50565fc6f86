package main

import (
	"fmt"
	"strings"
	"time"
)

// loadMean is the mean over rounds of req/s, CPU per request, requests and
// errors of one target at one concurrency.
func (r *result) loadMean(target string, conc int) (rps, cpu float64, reqs int, errs int64) {
	k := 0.0
	for _, l := range r.Loadgen.Load {
		if l.Target == target && l.Concurrency == conc {
			rps += l.RPS
			cpu += l.CPUUsPerReq
			reqs += l.Requests
			errs += l.Errors
			k++
		}
	}
	if k > 0 {
		rps, cpu = rps/k, cpu/k
	}
	return rps, cpu, reqs, errs
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// markdown renders the run as the tables docs/performance.md shows.
func (r *result) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Sizes: %d sequential requests per target (warm-up %d), closed loop %d s × %d rounds per level; load average at the end: %s; run took %.0f s.\n\n",
		r.Sizes.Requests, r.Sizes.Warmup, r.Sizes.Seconds, r.Sizes.Rounds, r.LoadAvg, r.RunSeconds)
	r.chatTable(&b)
	r.secretsTable(&b)
	r.streamTable(&b)
	r.idleTable(&b)
	return b.String()
}

// chatTable is the chat completions table: latency, throughput, CPU and
// errors per target, and the processes' RSS.
func (r *result) chatTable(b *strings.Builder) {
	seq := r.Loadgen.Sequential
	d := seq["direct"]
	b.WriteString("| chat completions, same run | direct | bare proxy hop | two-hop floor (hopfloor) | Rampart (`rampart dev`) | Rampart / floor | Rampart `/v1/responses` (same prompt) |\n|---|---|---|---|---|---|---|\n")
	row := func(label string, f func(t string) (float64, string)) {
		fmt.Fprintf(b, "| %s |", label)
		var floor, rp float64
		for _, t := range []string{"direct", "proxy", "gateway", "rampart"} {
			v, s := f(t)
			if t == "gateway" {
				floor = v
			}
			if t == "rampart" {
				rp = v
			}
			fmt.Fprintf(b, " %s |", s)
		}
		_, resp := f("responses")
		fmt.Fprintf(b, " %s | %s |\n", ratio(rp, floor), resp)
	}
	row("sequential p50 / p99 (µs)", func(t string) (float64, string) {
		s := seq[t]
		return s.P50Us, fmt.Sprintf("%.0f / %.0f", s.P50Us, s.P99Us)
	})
	row("added p50 (µs)", func(t string) (float64, string) {
		if t == "direct" {
			return 0, "–"
		}
		v := seq[t].P50Us - d.P50Us
		return v, fmt.Sprintf("+%.0f", v)
	})
	row("added p99 (µs)", func(t string) (float64, string) {
		if t == "direct" {
			return 0, "–"
		}
		v := seq[t].P99Us - d.P99Us
		return v, fmt.Sprintf("+%.0f", v)
	})
	for _, c := range []int{16, 64} {
		direct, _, _, _ := r.loadMean("direct", c)
		row(fmt.Sprintf("throughput c=%d (req/s, %% of direct)", c), func(t string) (float64, string) {
			v, _, _, _ := r.loadMean(t, c)
			if t == "direct" {
				return v, fmt.Sprintf("%.0f", v)
			}
			return v, fmt.Sprintf("%.0f (%.0f %%)", v, 100*v/max(direct, 1))
		})
	}
	r.cpuRows(row)
	row("CPU per request, sequential (µs)", func(t string) (float64, string) {
		v, ok := r.Loadgen.SequentialCPU[t]
		if !ok {
			return 0, "–"
		}
		return v, fmt.Sprintf("%.0f", v)
	})
	row("errors (all phases)", func(t string) (float64, string) {
		e := seq[t].Errors
		for _, c := range []int{16, 64} {
			_, _, _, x := r.loadMean(t, c)
			e += x
		}
		return float64(e), fmt.Sprintf("%d", e)
	})
	fmt.Fprintf(b, "| RSS after the run (MB) | – | %.0f | %.0f (front + back) | edge %.0f, inference %.0f, auth %.0f | – | – |\n\n",
		r.RSS["proxy"], r.RSS["hopfloor"], r.RSS["edge"], r.RSS["inference"], r.RSS["auth"])
	b.WriteString("Added = the target's percentile minus the direct call's from the same interleaved run. Rampart's CPU split is each process's share of the stack's CPU over the whole chat run. The `/v1/responses` column sends the same prompt on the Responses API (translated to the same upstream chat call, so its direct baseline is the chat request) in the same interleaved run.\n\n")

}

// cpuRows are the chat table's CPU-per-request rows under load, with
// Rampart's split between its processes.
func (r *result) cpuRows(row func(string, func(t string) (float64, string))) {
	for _, c := range []int{16, 64} {
		row(fmt.Sprintf("CPU per request under load c=%d (µs)", c), func(t string) (float64, string) {
			if t == "direct" {
				return 0, "–"
			}
			_, v, _, _ := r.loadMean(t, c)
			s := fmt.Sprintf("%.0f", v)
			if t == "rampart" {
				s += fmt.Sprintf(" (edge %.0f + inference %.0f + auth %.0f)", v*r.Breakdown["edge"], v*r.Breakdown["inference"], v*r.Breakdown["auth"])
			}
			return v, s
		})
	}
}

// secretsTable is the secret reads table: REST through the edge next to
// the HTTP floor, and gRPC to keyvault directly.
func (r *result) secretsTable(b *strings.Builder) {
	b.WriteString("| secrets, same run | sequential p50 / p99 (µs) | c=16 (req/s) | CPU per request under load (µs, edge+auth+keyvault) | errors | vs HTTP floor (p50, c=16) |\n|---|---|---|---|---|---|\n")
	var floor secretRow
	for i, s := range r.Secrets {
		if i == 0 {
			floor = s
		}
		rps, cpu, vs := "–", "–", "–"
		if s.Requests16 > 0 {
			rps = fmt.Sprintf("%.0f", s.RPS16)
		}
		if s.CPUUsPerReq > 0 {
			cpu = s.cpuCell()
		}
		if i > 0 {
			vs = ratio(s.Sequential.P50, floor.Sequential.P50)
			if s.Requests16 > 0 {
				vs += fmt.Sprintf(", %.0f %%", 100*s.RPS16/max(floor.RPS16, 1))
			}
		}
		fmt.Fprintf(b, "| %s | %.0f / %.0f (n=%d) | %s | %s | %d | %s |\n", s.Name, s.Sequential.P50, s.Sequential.P99, s.Sequential.N, rps, cpu, s.Errors, vs)
	}
	g := r.GRPCSecret
	fmt.Fprintf(b, "| %s | %.0f / %.0f (n=%d) | %.0f (c=64: %.0f) | %.0f (keyvault only; c=64: %.0f) | %d | %s |\n",
		g.Name, g.Sequential.P50, g.Sequential.P99, g.Sequential.N, r.GRPCRPS[16], r.GRPCRPS[64], g.CPUUsPerReq, r.GRPCCPU[64], g.Errors,
		ratio(g.Sequential.P50, floor.Sequential.P50))
	if h := r.SecretHops; h.Sequential.N > 0 {
		fmt.Fprintf(b, "| %s | %.0f / %.0f (n=%d) | %.0f | %s | %d | %s, %.0f %% |\n", h.Name, h.Sequential.P50, h.Sequential.P99, h.Sequential.N,
			h.RPS16, h.cpuCell(), h.Errors, ratio(h.Sequential.P50, floor.Sequential.P50), 100*h.RPS16/max(floor.RPS16, 1))
	}
	tail := r.vaultRows(b, floor)
	if h := r.SecretHops; h.Sequential.N > 0 && len(r.Secrets) > 1 {
		rest := r.Secrets[1]
		fmt.Fprintf(b, "\nREST read against the two-hop floor (the architecture's, ADR 0062): p50 %s, c=16 %.0f %%.\n",
			ratio(rest.Sequential.P50, h.Sequential.P50), 100*rest.RPS16/max(h.RPS16, 1))
	}
	b.WriteString(tail)
	fmt.Fprintf(b, "\nRSS after the run: keyvault %.0f MB.\n\n", r.RSS["keyvault"])

}

// vaultRows writes the optional baseline's rows (BENCH_VAULT) into the
// table and returns the lines that follow it: the REST read's ratios to
// them.
func (r *result) vaultRows(b *strings.Builder, floor secretRow) string {
	var tail strings.Builder
	for _, v := range r.Vault {
		fmt.Fprintf(b, "| %s | %.0f / %.0f (n=%d) | %.0f | %s | %d | %s, %.0f %% |\n", v.Name, v.Sequential.P50, v.Sequential.P99, v.Sequential.N,
			v.RPS16, v.cpuCell(), v.Errors, ratio(v.Sequential.P50, floor.Sequential.P50), 100*v.RPS16/max(floor.RPS16, 1))
		if len(r.Secrets) > 1 {
			rest := r.Secrets[1]
			fmt.Fprintf(&tail, "\nREST read against %s: p50 %s, c=16 %.0f %%.\n", v.Name,
				ratio(rest.Sequential.P50, v.Sequential.P50), 100*rest.RPS16/max(v.RPS16, 1))
		}
	}
	return tail.String()
}

// cpuCell is a row's CPU per request under load with its split per
// process: "153 (edge 90 + auth 1 + keyvault 62)".
func (s secretRow) cpuCell() string {
	out := fmt.Sprintf("%.0f", s.CPUUsPerReq)
	if len(s.CPUSplit) < 2 || len(s.CPUNames) != len(s.CPUSplit) {
		return out
	}
	parts := make([]string, len(s.CPUSplit))
	for i, c := range s.CPUSplit {
		parts[i] = fmt.Sprintf("%s %.0f", s.CPUNames[i], c)
	}
	return out + " (" + strings.Join(parts, " + ") + ")"
}

// streamTable is the streaming time-to-first-byte table, against the
// non-streaming request timed in the same interleaved pass.
func (r *result) streamTable(b *strings.Builder) {
	st := r.Stream
	added, nonStream := st.Added()
	b.WriteString("| chat, one sequential pass, six requests interleaved | direct | Rampart (`rampart dev`) | added |\n|---|---|---|---|\n")
	fmt.Fprintf(b, "| streaming: time to first byte p50 / p99 (µs) | %.0f / %.0f (n=%d) | %.0f / %.0f (n=%d) | +%.0f / +%.0f |\n",
		st.Direct.P50, st.Direct.P99, st.Direct.N, st.Rampart.P50, st.Rampart.P99, st.Rampart.N,
		added, st.Rampart.P99-st.Direct.P99)
	fmt.Fprintf(b, "| non-streaming: whole answer p50 / p99 (µs) | %.0f / %.0f (n=%d) | %.0f / %.0f (n=%d) | +%.0f / +%.0f |\n",
		st.NonStreamDirect.P50, st.NonStreamDirect.P99, st.NonStreamDirect.N, st.NonStreamRampart.P50, st.NonStreamRampart.P99, st.NonStreamRampart.N,
		nonStream, st.NonStreamRampart.P99-st.NonStreamDirect.P99)
	paced := st.PacedAdded()
	fmt.Fprintf(b, "| streaming, paced upstream (events after the role chunk a pause later): time to first byte p50 / p99 (µs) | %.0f / %.0f (n=%d) | %.0f / %.0f (n=%d) | +%.0f / +%.0f |\n\n",
		st.PacedDirect.P50, st.PacedDirect.P99, st.PacedDirect.N, st.PacedRampart.P50, st.PacedRampart.P99, st.PacedRampart.N,
		paced, st.PacedRampart.P99-st.PacedDirect.P99)
	fmt.Fprintf(b, "Streaming first byte added / non-streaming added p50, same pass: +%.0f / +%.0f µs = %s (instant upstream: the rest of the stream's work shares the cores with the first byte's relay); paced upstream: +%.0f / +%.0f µs = %s.\n\n",
		added, nonStream, ratio(added, nonStream), paced, nonStream, ratio(paced, nonStream))
}

// idleTable is the idle stack's CPU and memory.
func (r *result) idleTable(b *strings.Builder) {
	fmt.Fprintf(b, "| idle stack (%d s from %d s after the run, nothing sent) | CPU (%% of one core) | RSS (MB) | of which anonymous (MB; the rest is the mapped binary) | one-off CPU settling %d–%d s after the run (ms; memtrim's release) |\n|---|---|---|---|---|\n",
		r.Idle.Seconds, int(settled/time.Second), int(lastTimers/time.Second), int(settled/time.Second))
	var total, settle float64
	for _, s := range []string{"auth", "keyvault", "inference", "ingestion", "slackadapter", "edge"} {
		total += r.Idle.CPUPercent[s]
		settle += r.Idle.SettleMS[s]
		fmt.Fprintf(b, "| %s | %.1f | %.0f | %.0f | %.0f |\n", s, r.Idle.CPUPercent[s], r.Idle.RSS[s], r.Idle.Anon[s], r.Idle.SettleMS[s])
	}
	fmt.Fprintf(b, "| whole stack | %.1f | – | – | %.0f |\n", total, settle)
}
