package memtrim

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// span is one mapping of the executable whose pages can be dropped.
type span struct{ lo, hi uintptr }

// droppable reads /proc/<pid>/smaps and returns the mappings of the
// executable (inode exe) that are safe to drop from the page tables:
// not writable and holding no anonymous page. A writable mapping (.data,
// .bss) holds the program's variables; a read-only one with anonymous
// pages is relocated data (RELRO in a PIE) or code a debugger or uprobe
// wrote a breakpoint into, and dropping either would bring back the file's
// bytes. What remains (.text, .rodata, the type and PC tables) is the
// file's bytes exactly, so the next touch maps the same page again from
// the page cache.
func droppable(smaps io.Reader, exe uint64) []span {
	var (
		out  []span
		cur  span
		ok   bool // cur is a read-only mapping of exe
		anon bool // cur has anonymous pages
	)
	flush := func() {
		if ok && !anon {
			out = append(out, cur)
		}
		ok, anon = false, false
	}
	sc := bufio.NewScanner(smaps)
	for sc.Scan() {
		line := sc.Bytes()
		if v, isAnon := bytes.CutPrefix(line, []byte("Anonymous:")); isAnon {
			anon = anon || !bytes.Equal(bytes.Fields(v)[0], []byte("0"))
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 5 || bytes.IndexByte(f[0], '-') <= 0 || bytes.HasSuffix(f[0], []byte(":")) {
			continue // a field line of the current mapping
		}
		flush()
		lo, hi, found := bytes.Cut(f[0], []byte("-"))
		a, errA := strconv.ParseUint(string(lo), 16, 64)
		b, errB := strconv.ParseUint(string(hi), 16, 64)
		ino, errI := strconv.ParseUint(string(f[4]), 10, 64)
		if !found || errA != nil || errB != nil || errI != nil || ino != exe || len(f[1]) < 2 || f[1][1] != '-' {
			continue
		}
		cur, ok = span{uintptr(a), uintptr(b)}, true
	}
	flush()
	return out
}
