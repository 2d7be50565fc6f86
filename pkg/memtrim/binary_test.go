package memtrim

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// mapping is one /proc/<pid>/smaps entry with the fields droppable reads.
func mapping(addr, perms string, inode, anonKB int, path string) string {
	return addr + " " + perms + " 00000000 fe:00 " + itoa(inode) + "   " + path + "\n" +
		"Size:               1024 kB\nRss:                 512 kB\n" +
		"Anonymous:          " + itoa(anonKB) + " kB\nVmFlags: rd ex mr mw me\n"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestDroppableKeepsWhatTheProgramWrote(t *testing.T) {
	const exe = 4242
	tests := []struct {
		name string
		maps string
		want []span
	}{
		{"code and read-only tables of the executable", mapping("00400000-01000000", "r-xp", exe, 0, "/bin/svc") + mapping("01000000-02000000", "r--p", exe, 0, "/bin/svc"), []span{{0x400000, 0x1000000}, {0x1000000, 0x2000000}}},
		{"its variables are not", mapping("02000000-02100000", "rw-p", exe, 0, "/bin/svc") + mapping("02100000-02200000", "rw-p", exe, 12, "/bin/svc"), nil},
		{"read-only with anonymous pages (RELRO, a breakpoint) is not", mapping("00400000-01000000", "r-xp", exe, 4, "/bin/svc") + mapping("01000000-02000000", "r--p", exe, 0, "/bin/svc"), []span{{0x1000000, 0x2000000}}},
		{"other files and anonymous memory are not", mapping("7f0000000000-7f0000100000", "r-xp", 99, 0, "/lib/other.so") + mapping("c000000000-c004000000", "rw-p", 0, 2048, "") + mapping("7ffc00000000-7ffc00001000", "r-xp", 0, 0, "[vdso]"), nil},
		{"a replaced executable is still known by its inode", mapping("00400000-01000000", "r-xp", exe, 0, "/bin/svc (deleted)"), []span{{0x400000, 0x1000000}}},
		{"the last mapping counts too", mapping("c000000000-c004000000", "rw-p", 0, 2048, "") + mapping("00400000-01000000", "r-xp", exe, 0, "/bin/svc"), []span{{0x400000, 0x1000000}}},
		{"nothing readable", "garbage\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, droppable(strings.NewReader(tt.maps), exe))
		})
	}
}
