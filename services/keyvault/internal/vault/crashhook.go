//go:build crashhook

package vault

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"syscall"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// crashAt is the rotation step at which the process kills itself, read
// from RAMPART_KEYVAULT_TEST_CRASH_AT. This file is compiled only with
// `-tags crashhook` (the crash-resume test in internal/app builds its
// keyvault binary that way); production binaries get crashhook_off.go, in
// which neither the variable nor the kill exists.
var crashAt = os.Getenv("RAMPART_KEYVAULT_TEST_CRASH_AT")

func init() {
	if crashAt != "" && !slices.Contains(slices.Collect(maps.Values(StepNames)), crashAt) {
		panic(fmt.Sprintf("RAMPART_KEYVAULT_TEST_CRASH_AT: unknown rotation step %q", crashAt))
	}
}

// crashHook kills the process with SIGKILL at the configured step, so a
// test can check that rotation resumes after a crash at exactly that point.
func crashHook(step keyvaultv1.RotationStep) {
	if crashAt != "" && crashAt == StepNames[step] {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never continue past the crash point
	}
}
