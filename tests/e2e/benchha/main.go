// Command benchha is issue 16's scale-out benchmark (`make bench-ha`). In
// one run it starts the plain stack (`rampart dev`: SQLite, one replica of
// each service) and then the --ha stack (`rampart dev --ha`: PostgreSQL and
// Redis on unix sockets, two replicas of every service), and measures:
//
//  1. keyvault secret read and write throughput and chat throughput (an
//     openai upstream pointed at benchstack's instant fake) at c=16 on
//     each, side by side (the --ha stack's clients spread over both edges);
//  2. on the --ha stack, failover: a probe client sends one request every
//     few milliseconds while a keyvault, inference or edge replica is
//     killed with SIGKILL through the dev stack's control API, and the run
//     reports kill → first successful request and kill → end of errors;
//  3. ingestion job throughput (documents/s for N small documents) with the
//     single SQLite replica, and on the --ha stack with 2 and then 1
//     ingestion replica (the second killed through the control API).
//
// Sizes come from the environment: BENCH_HA_SECONDS (each closed-loop
// phase, default 5), BENCH_HA_KILLS (default 10), BENCH_HA_DOCS (default
// 200). Everything listens on loopback; client, servers and databases share
// the machine's cores, which the table says.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
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

// sizes are the run's dimensions.
type sizes struct {
	Seconds int // each closed-loop throughput phase
	Kills   int // replicas killed in the failover phase
	Docs    int // documents per ingestion throughput phase
	// DownMillis is how long a killed replica stays down under the probe.
	DownMillis int
}

func sizesFromEnv() sizes {
	get := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	return sizes{Seconds: get("BENCH_HA_SECONDS", 5), Kills: get("BENCH_HA_KILLS", 10), Docs: get("BENCH_HA_DOCS", 200), DownMillis: 1500}
}
