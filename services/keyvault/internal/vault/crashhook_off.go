//go:build !crashhook

package vault

import keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"

// crashHook does nothing in production builds: the SIGKILL test hook exists
// only in binaries built with `-tags crashhook` (see crashhook.go), so no
// configuration can make a deployed keyvault kill itself mid-rotation.
func crashHook(keyvaultv1.RotationStep) {}
