package bot

import (
	"strings"
)

// command is a parsed /rampart slash command.
type command struct {
	kind      string // cmdAsk or cmdKB
	sub       string // kb: use, show, clear
	arg       string // ask: the question; kb use: the names
	workspace bool   // kb: the workspace default rather than the channel
}

const (
	cmdAsk = "ask"
	cmdKB  = "kb"
)

// usage is the /rampart help text.
func usage(cmd string) string {
	return "Usage:\n" +
		"• `" + cmd + " ask <question>` (or just `" + cmd + " <question>`): answer from the documents this channel is bound to\n" +
		"• `" + cmd + " kb use <assistant | collection[,collection…]> [--workspace]`: bind this channel (or the workspace) — workspace admins, to what a Rampart tenant admin listed for this workspace\n" +
		"• `" + cmd + " kb show`: what this channel answers from\n" +
		"• `" + cmd + " kb clear [--workspace]`: remove the binding — workspace admins"
}

// parseCommand reads the text of a /rampart command. ok is false when the
// text asks for help or is not a valid kb subcommand.
func parseCommand(text string) (command, bool) {
	f := strings.Fields(text)
	if len(f) == 0 || strings.EqualFold(f[0], "help") {
		return command{}, false
	}
	switch strings.ToLower(f[0]) {
	case "ask":
		q := strings.TrimSpace(text[strings.Index(text, f[0])+len(f[0]):])
		if q == "" {
			return command{}, false
		}
		return command{kind: cmdAsk, arg: q}, true
	case "kb":
		c := command{kind: cmdKB}
		var rest []string
		for _, w := range f[1:] {
			if w == "--workspace" {
				c.workspace = true
				continue
			}
			rest = append(rest, w)
		}
		if len(rest) == 0 {
			return command{}, false
		}
		c.sub = strings.ToLower(rest[0])
		switch c.sub {
		case "use":
			if len(rest) < 2 {
				return command{}, false
			}
			c.arg = strings.Join(rest[1:], "")
		case "show", "clear":
			if len(rest) != 1 {
				return command{}, false
			}
		default:
			return command{}, false
		}
		return c, true
	default:
		return command{kind: cmdAsk, arg: strings.TrimSpace(text)}, true
	}
}
