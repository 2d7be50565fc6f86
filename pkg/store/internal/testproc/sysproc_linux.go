package testproc

import "syscall"

// sysProcAttr kills the child when the test process dies. Go sets the
// parent-death signal after any credential change, so it survives
// SysProcAttr.Credential (which the kernel would otherwise clear it on).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
