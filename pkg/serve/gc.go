package serve

import (
	"os"
	"runtime/debug"
)

// RequestPathGCPercent is the garbage collector target of the services on
// the request path of a chat completion (edge, inference): their live heap
// is a few MB and every request allocates ~15 KB, so Go's default of 100
// collected several times a second under load and the collector took 7–9 %
// of their CPU (issue 15, ADR 0038). At 200 it runs half as often for a
// heap of about three times the live data instead of two.
const RequestPathGCPercent = 200

// SetDefaultGCPercent sets the collector's target percentage to percent
// unless the operator set GOGC, which always wins. The memory limit
// (GOMEMLIMIT, which the deployment manifests set from the container's
// limit) still makes the collector run earlier as the heap nears it.
// percent <= 0 changes nothing. It reports whether it applied percent.
func SetDefaultGCPercent(percent int) bool {
	if percent <= 0 {
		return false
	}
	if _, set := os.LookupEnv("GOGC"); set {
		return false
	}
	debug.SetGCPercent(percent)
	return true
}
