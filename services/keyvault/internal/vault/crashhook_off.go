//go:build !crashhook

package vault

// crashHook does nothing in production builds: the SIGKILL test hook exists
// only in binaries built with `-tags crashhook` (see crashhook.go), so no
// configuration can make a deployed keyvault kill itself mid-rotation.
func crashHook(int) {}
