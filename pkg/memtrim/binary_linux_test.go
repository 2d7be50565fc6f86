package memtrim

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// exeReadOnlyKB is how much of this process's read-only mappings of its
// executable is resident.
func exeReadOnlyKB(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	require.NoError(t, err)
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	var kb int
	mine := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) >= 6 && strings.Contains(fs[0], "-"):
			mine = fs[5] == exe && !strings.Contains(fs[1], "w")
		case mine && len(fs) == 3 && fs[0] == "Rss:":
			n, err := strconv.Atoi(fs[1])
			require.NoError(t, err)
			kb += n
		}
	}
	return kb
}

// written lives in the executable's writable data segment (.data): a
// release must keep what the program wrote there.
var written = [4]uint64{1, 2, 3, 4}

// TestReleaseBinaryUnmapsTheExecutablesPages: what start-up touched of the
// test binary is unmapped, the program keeps running on the pages it
// touches again, and the variables keep their values.
func TestReleaseBinaryUnmapsTheExecutablesPages(t *testing.T) {
	written[2] = 33
	// Touch the PC tables of all the code, as a process's start-up and
	// its stack walks touch them.
	st, err := os.Stat("/proc/self/exe")
	require.NoError(t, err)
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	sys, ok := st.Sys().(*syscall.Stat_t)
	require.True(t, ok)
	spans := droppable(f, sys.Ino)
	require.NoError(t, f.Close())
	require.NotEmpty(t, spans, "the executable's code is a droppable mapping")
	var named int
	for pc := spans[0].lo; pc < spans[0].hi; pc += 4096 {
		if fn := runtime.FuncForPC(pc); fn != nil && fn.Name() != "" {
			named++
		}
	}
	require.Positive(t, named)
	before := exeReadOnlyKB(t)
	releaseBinary()
	after := exeReadOnlyKB(t)
	t.Logf("executable resident: %d KB → %d KB", before, after)
	require.Less(t, after, before*3/4, "the executable's resident pages are unmapped (what runs after maps some back)")
	require.Equal(t, [4]uint64{1, 2, 33, 4}, written, "writable data is never dropped")
	again := exeReadOnlyKB(t) // code and tables map back in as they run
	require.Greater(t, again, 0)
}
