package index

import (
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/size"
	index "github.com/blevesearch/bleve_index_api"
)

// textField is a chunk's "text" field as bleve indexes it: what the
// mapping makes of {"text": …} (document.TextField analysed by rampart_en;
// indexed, not stored, no term vectors or doc values), analysed by
// fastAnalyzer straight into term frequencies instead of a token stream
// that analysis.TokenFrequency then counts (TestTextFieldMatchesMapping).
// Documents of such fields go to bleve through Batch.IndexAdvanced, which
// also skips the mapping's reflection over the document and its empty
// "_all" composite field (nothing is included in it, nothing searches it).
type textField struct {
	value  []byte
	an     *fastAnalyzer
	length int
	freqs  index.TokenFrequencies
	hashes []uint64 // of the distinct terms, for the vocabulary (bm25.go)
}

var _ document.Field = (*textField)(nil)

const textFieldName = "text"

func (f *textField) Name() string                        { return textFieldName }
func (f *textField) ArrayPositions() []uint64            { return nil }
func (f *textField) Options() index.FieldIndexingOptions { return index.IndexField }
func (f *textField) Value() []byte                       { return f.value }
func (f *textField) NumPlainTextBytes() uint64           { return uint64(len(f.value)) }
func (f *textField) EncodedFieldType() byte              { return 't' }
func (f *textField) AnalyzedLength() int                 { return f.length }

func (f *textField) AnalyzedTokenFrequencies() index.TokenFrequencies { return f.freqs }

// Analyze runs on bleve's analysis workers.
func (f *textField) Analyze() { f.length, f.freqs, f.hashes = f.an.frequencies(f.value, f.hashes[:0]) }

// Size is the field's memory estimate (bleve's batch accounting), as
// document.TextField counts it.
func (f *textField) Size() int {
	return size.SizeOfPtr + len(f.value) + 4*size.SizeOfInt + f.freqs.Size() + 8*len(f.hashes)
}
