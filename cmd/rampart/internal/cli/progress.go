package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// progress shows a job's progress while --wait follows it. On a terminal
// it redraws one line in place (carriage return, erase to the end of the
// line) and ends with a summary line; anywhere else (a pipe, a CI log) it
// prints one line per change, so logs keep every step.
type progress struct {
	w     io.Writer
	name  string
	tty   bool
	width int // terminal columns (tty only)
	drawn bool
	last  docJob
}

// isTerminal reports whether v (a command's stdin, stdout or stderr) is a
// terminal, checked with golang.org/x/term on its file descriptor.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) //nolint:gosec // a file descriptor fits an int
}

// newProgress writes to w: a terminal when w is one.
func newProgress(w io.Writer, name string) *progress {
	p := &progress{w: w, name: name}
	if isTerminal(w) {
		f, _ := w.(*os.File)
		p.tty = true
		p.width = 80
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 { //nolint:gosec // as above
			p.width = cols
		}
	}
	return p
}

// update shows j.
func (p *progress) update(j docJob) {
	p.last = j
	line := renderProgress(p.name, j)
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	// one line, never wrapped (a wrapped line cannot be redrawn with \r)
	if r := []rune(line); p.width > 1 && len(r) >= p.width {
		line = string(r[:p.width-1])
	}
	fmt.Fprint(p.w, "\r"+line+"\x1b[K")
	p.drawn = true
}

// done ends the display: on a terminal the progress line gives way to a
// summary of the job as it ended (or as it was last seen when following
// it failed with err).
func (p *progress) done(j docJob, err error) {
	if !p.tty {
		return
	}
	if j.ID == "" {
		j = p.last
	}
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(p.w, summarizeJob(p.name, j, err))
}

// renderProgress is one progress line: a bar, the percentage, chunks done
// (pages and documents for a crawl) and the state.
func renderProgress(name string, j docJob) string {
	done, total := j.ChunksDone, j.ChunksTotal
	if j.Kind == "JOB_KIND_CRAWL" {
		done, total = j.PagesDone, j.PagesMax
		if j.ended() { // a crawl often ends below its page limit
			total = j.PagesDone
		}
	}
	var line string
	if j.Kind == "JOB_KIND_CRAWL" {
		line = fmt.Sprintf("%s [%s] %s %d/%d pages, %d documents pending, %d failed %s", name, bar(done, total), percent(done, total),
			j.PagesDone, j.PagesMax, j.DocumentsPending, j.DocumentsFailed, jobState(j))
	} else {
		line = fmt.Sprintf("%s [%s] %s %d/%d chunks %s", name, bar(done, total), percent(done, total), j.ChunksDone, j.ChunksTotal, jobState(j))
	}
	if j.Error != "" {
		line += ": " + j.Error
	}
	return line
}

// summarizeJob is the line left on a terminal once the job ended.
func summarizeJob(name string, j docJob, err error) string {
	var what string
	if j.Kind == "JOB_KIND_CRAWL" {
		what = fmt.Sprintf("%d pages, %d documents pending, %d failed", j.PagesDone, j.DocumentsPending, j.DocumentsFailed)
	} else {
		what = fmt.Sprintf("%d/%d chunks", j.ChunksDone, j.ChunksTotal)
	}
	line := fmt.Sprintf("%s: %s, %s", name, jobState(j), what)
	switch {
	case err != nil:
		line += " (stopped following the job: " + err.Error() + ")"
	case j.Error != "":
		line += ": " + j.Error
	}
	return line
}

const barWidth = 20

func bar(done, total int) string {
	if total <= 0 {
		return strings.Repeat(".", barWidth)
	}
	n := max(0, min(barWidth, barWidth*done/total))
	return strings.Repeat("#", n) + strings.Repeat(".", barWidth-n)
}

func percent(done, total int) string {
	if total <= 0 {
		return "  0%"
	}
	return fmt.Sprintf("%3d%%", max(0, min(100, 100*done/total)))
}

func jobState(j docJob) string {
	if j.State == "" {
		return "pending"
	}
	return strings.ToLower(strings.TrimPrefix(j.State, "JOB_STATE_"))
}
