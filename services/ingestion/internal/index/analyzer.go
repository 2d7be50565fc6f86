package index

import (
	"unicode"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/character"
	"github.com/blevesearch/bleve/v2/registry"
)

// AnalyzerName is the analyser of the chunk text field: bleve's English
// analyser (lower case, English stop words, Porter stemming) with a plain
// letters-and-digits tokenizer instead of Unicode word segmentation, which
// was the single largest cost of indexing. Queries use the same analyser.
const AnalyzerName = "rampart_en"

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func analyzerConstructor(_ map[string]any, cache *registry.Cache) (analysis.Analyzer, error) {
	lower, err := cache.TokenFilterNamed(lowercase.Name)
	if err != nil {
		return nil, err
	}
	stop, err := cache.TokenFilterNamed(en.StopName)
	if err != nil {
		return nil, err
	}
	stem, err := cache.TokenFilterNamed(porter.Name)
	if err != nil {
		return nil, err
	}
	return &analysis.DefaultAnalyzer{
		Tokenizer:    character.NewCharacterTokenizer(isWordRune),
		TokenFilters: []analysis.TokenFilter{lower, stop, stem},
	}, nil
}

func init() {
	if err := registry.RegisterAnalyzer(AnalyzerName, analyzerConstructor); err != nil {
		panic(err)
	}
}
