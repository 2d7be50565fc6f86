package chunk

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestFastPathsMatchDefinition: Tokens' ASCII path and squeeze give what
// the plain Unicode definitions give (chunk boundaries, hence stored
// chunks and rankings, do not move).
func TestFastPathsMatchDefinition(t *testing.T) {
	refTokens := func(s string) int {
		n := 0
		inWord, wordLen := false, 0
		flush := func() {
			if inWord {
				n += max(1, (wordLen+3)/4)
			}
			inWord, wordLen = false, 0
		}
		for _, r := range s {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				inWord = true
				wordLen += utf8.RuneLen(r)
			case unicode.IsSpace(r):
				flush()
			default:
				flush()
				n++
			}
		}
		flush()
		return n
	}
	for _, s := range []string{
		"", " ", "a", "Hello, world.", "two  spaces", " lead", "trail ", "tab\there", "line\nbreak",
		"x\x00y\x1fz\x7f", "naïve café – ünïcode 42", "bad \xff\xfe utf8", "\u00a0nbsp\u0085nel",
		"supercalifragilisticexpialidocious 1234567890 e.g. U.S.A.!?",
		" Next sentence.", "\t\r\n ends \v\f", " inner  twice ", " \u00a0lead nbsp", "trail nel\u0085 ", "\x00 nul",
	} {
		require.Equal(t, refTokens(s), Tokens(s), "Tokens(%q)", s)
		require.Equal(t, strings.Join(strings.Fields(s), " "), squeeze(s), "squeeze(%q)", s)
	}
}
