package hashembed

import "encoding/binary"

// WordIDs is the number of distinct word ids (VectorV2Words): ids are
// below it.
const WordIDs = 1 << featureMemoBits

// VectorV2Words is VectorV2(text, dims) that also appends to ids the id
// of each word of text, in order, stop words included, and reports
// whether it did: only for ASCII text whose words the memo all keeps
// (otherwise ids comes back as it was). A word's id never changes in the
// process and MemoWord gives its lower-cased bytes back, so a caller that
// analyses the same text again (the lexical index at ingestion) can key
// its own per-word results by id instead of scanning, lower-casing and
// hashing the text a second time and looking each word up in a table of
// its own.
func VectorV2Words(text string, dims int, ids []uint32) ([]float32, []uint32, bool) {
	t, _ := tables.Get().(*tfTable)
	defer tables.Put(t)
	t.reset()
	t.ids, t.recording = ids, true
	v := t.vector(text, dims)
	got, ok := t.ids, t.recording && isASCII(text)
	t.ids, t.recording = nil, false
	if !ok {
		return v, ids, false
	}
	return v, got, true
}

// MemoWord returns the (lower-cased) word of id, an id VectorV2Words
// gave.
func MemoWord(id uint32) []byte {
	e := features.entry(features.slots[id].Load())
	n := e.len()
	b := make([]byte, 0, (n+7)/8*8)
	for _, w := range e[entryHeader : entryHeader+(n+7)/8] {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b[:n]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
