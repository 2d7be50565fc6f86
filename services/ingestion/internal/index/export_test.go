package index

import "testing"

// NewTestKeys returns a random tenant key for tests.
func NewTestKeys(t testing.TB) Keys { return newTestKeys(t) }

// NewKeyedLexical returns a Lexical under dir using k for every tenant.
func NewKeyedLexical(dir string, k Keys) *Lexical { return keyed(dir, k) }

// AnalyzedTerm is a token of the default analyser, for tests.
type AnalyzedTerm struct {
	Term     string
	Position int
}

// AnalyzedTerms analyses text with the default analyser.
func AnalyzedTerms(text string) []AnalyzedTerm {
	var out []AnalyzedTerm
	for _, tok := range defaultAnalyzer.Analyze([]byte(text)) {
		out = append(out, AnalyzedTerm{Term: string(tok.Term), Position: tok.Position})
	}
	return out
}
