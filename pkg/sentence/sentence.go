package sentence

// Split cuts text after '.', '!' or '?' followed by a space, a tab, a line
// break or the end, and after every line break (headings, list items and
// blank lines end a sentence too). Each piece goes through clean (trimming,
// squeezing white space, dropping a label) and is kept unless clean makes
// it empty. clean gets substrings of text: no piece is copied.
func Split(text string, clean func(string) string) []string {
	var out []string
	start := 0
	add := func(end int) {
		if s := clean(text[start:end]); s != "" {
			out = append(out, s)
		}
		start = end
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\n':
			add(i + 1)
		case (c == '.' || c == '!' || c == '?') && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\n' || text[i+1] == '\t'):
			add(i + 1)
		}
	}
	add(len(text))
	return out
}
