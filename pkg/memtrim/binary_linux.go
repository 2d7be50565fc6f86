package memtrim

import (
	"os"
	"syscall"
)

// releaseBinary drops the pages of the executable this process has mapped
// but does not use any more. Package initialisers, set-up and the first
// requests of a burst touch most of the binary's code and tables once
// (~25–30 MB of a 50–75 MB service), and the kernel maps each fault's
// neighbourhood too (fault-around, large page-cache folios); an idle
// service uses ~2 MB of them. MADV_DONTNEED on a read-only private file
// mapping only unmaps: the pages stay in the page cache (clean, shared,
// reclaimable), and the next touch maps one back with a minor fault, no
// I/O. Best effort: a kernel without /proc leaves things as they are.
func releaseBinary() {
	fi, err := os.Stat("/proc/self/exe")
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	spans := droppable(f, st.Ino)
	_ = f.Close()
	for _, s := range spans {
		// The pages hold only the file's bytes (droppable), so the
		// advice cannot change what the program reads.
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, s.lo, s.hi-s.lo, syscall.MADV_DONTNEED)
	}
}
