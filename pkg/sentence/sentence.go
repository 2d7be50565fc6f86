package sentence

// Split cuts text after '.', '!' or '?' followed by a space, a tab, a line
// break or the end, and after every line break (headings, list items and
// blank lines end a sentence too). Each piece goes through clean (trimming,
// squeezing white space, dropping a label) and is kept unless clean makes
// it empty. clean gets substrings of text: no piece is copied.
func Split(text string, clean func(string) string) []string {
	var out []string
	Bounds(text, func(start, end int) {
		if s := clean(text[start:end]); s != "" {
			out = append(out, s)
		}
	})
	return out
}

// Bounds calls fn with the byte range [start, end) of each raw piece Split
// cuts text into, in order (the pieces cover text; clean has not run), for
// a caller that needs to know where a sentence is in text (ingestion's
// citation locations, docs/adr/0085).
func Bounds(text string, fn func(start, end int)) {
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\n':
			fn(start, i+1)
			start = i + 1
		case (c == '.' || c == '!' || c == '?') && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\n' || text[i+1] == '\t'):
			fn(start, i+1)
			start = i + 1
		}
	}
	fn(start, len(text))
}
