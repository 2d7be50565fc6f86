package tokenizer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
)

// vocab is a BPE vocabulary in three flat arrays: every token's bytes in
// one slice, ordered by rank; where each token ends; and an open-addressed
// hash table from token bytes to rank. tiktoken-go keeps a
// map[string]int and its inverse, ~120 bytes per token (11.7 MB of live
// heap for cl100k_base, 23.7 MB for o200k_base, and three times that
// allocated while parsing); this is ~12–14 bytes per token plus the
// token bytes, and the only counting needs are "rank of these bytes".
type vocab struct {
	data  []byte   // token bytes, in rank order
	end   []uint32 // end[r]: where rank r's bytes end in data (they start at end[r-1], or 0)
	slots []uint32 // rank+1, 0 for an empty slot; len is a power of two
	mask  uint64   // len(slots) - 1
	seed  maphash.Seed
}

// parseVocab reads a .tiktoken file: one "base64(token) rank" per line,
// ranks 0, 1, 2, … in order (both encodings we ship are numbered so; a
// file that is not is refused rather than counted differently).
func parseVocab(src []byte) (*vocab, error) {
	lines, size := 0, 0
	for line := range bytes.Lines(src) {
		tok, _, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte{' '})
		if !ok {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return nil, fmt.Errorf("line %d: no rank", lines+1)
		}
		size += base64.StdEncoding.DecodedLen(len(tok)) - bytes.Count(tok, []byte{'='})
		lines++
	}
	if lines == 0 || lines > math.MaxUint32/2 || size > math.MaxUint32 {
		return nil, fmt.Errorf("vocabulary of %d tokens, %d bytes", lines, size)
	}
	v := &vocab{data: make([]byte, size), end: make([]uint32, lines), seed: maphash.MakeSeed()}
	// At most two thirds full: linear probing stays short.
	table := 1
	for table < lines+lines/2 {
		table <<= 1
	}
	v.slots, v.mask = make([]uint32, table), uint64(table-1) //nolint:gosec // G115: table > 0
	pos, r := 0, 0
	for line := range bytes.Lines(src) {
		tok, rank, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte{' '})
		if !ok {
			continue
		}
		if got, err := strconv.Atoi(string(rank)); err != nil || got != r {
			return nil, fmt.Errorf("line %d: rank %q, want %d", r+1, rank, r)
		}
		n, err := base64.StdEncoding.Decode(v.data[pos:], tok)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", r+1, err)
		}
		pos += n
		v.end[r] = uint32(pos)                      //nolint:gosec // G115: size ≤ MaxUint32, checked above
		if err := v.insert(uint32(r)); err != nil { //nolint:gosec // G115: lines ≤ MaxUint32/2
			return nil, err
		}
		r++
	}
	return v, nil
}

// token is rank r's bytes.
func (v *vocab) token(r uint32) []byte {
	start := uint32(0)
	if r > 0 {
		start = v.end[r-1]
	}
	return v.data[start:v.end[r]]
}

func (v *vocab) insert(r uint32) error {
	b := v.token(r)
	for i := maphash.Bytes(v.seed, b) & v.mask; ; i = (i + 1) & v.mask {
		switch s := v.slots[i]; {
		case s == 0:
			v.slots[i] = r + 1
			return nil
		case bytes.Equal(v.token(s-1), b):
			return errors.New("duplicate token " + strconv.Itoa(int(s-1)) + " and " + strconv.Itoa(int(r)))
		}
	}
}

// rank is the rank of the token b, if b is one.
func (v *vocab) rank(b []byte) (int, bool) {
	for i := maphash.Bytes(v.seed, b) & v.mask; ; i = (i + 1) & v.mask {
		s := v.slots[i]
		if s == 0 {
			return 0, false
		}
		if bytes.Equal(v.token(s-1), b) {
			return int(s - 1), true
		}
	}
}

// part is a boundary of the byte-pair merge: where a part starts and the
// rank of merging it with the next one (math.MaxInt: no such token).
type part struct{ start, rank int }

// countPiece is how many tokens one pre-tokenised piece encodes to:
// tiktoken's byte_pair_merge (as tiktoken-go v0.1.8's bytePairMerge, step
// for step, so ties between equal ranks resolve the same way), counting
// the parts instead of building tokens. parts is scratch space.
func (v *vocab) countPiece(piece []byte, parts *[]part) int {
	if _, ok := v.rank(piece); ok || len(piece) == 1 {
		return 1
	}
	ps := (*parts)[:0]
	for i := 0; i <= len(piece); i++ {
		ps = append(ps, part{i, math.MaxInt})
	}
	// rankOf is the rank of parts i … i+skip+1 merged into one token, or -1.
	rankOf := func(ps []part, i, skip int) int {
		if i+skip+2 < len(ps) {
			if r, ok := v.rank(piece[ps[i].start:ps[i+skip+2].start]); ok {
				return r
			}
		}
		return -1
	}
	for i := 0; i < len(ps)-2; i++ {
		if r := rankOf(ps, i, 0); r >= 0 {
			ps[i].rank = r
		}
	}
	for len(ps) > 1 {
		minRank, i := math.MaxInt, -1
		for j := 0; j < len(ps)-1; j++ {
			if ps[j].rank < minRank {
				minRank, i = ps[j].rank, j
			}
		}
		if minRank == math.MaxInt {
			break
		}
		ps[i].rank = orMax(rankOf(ps, i, 1))
		if i > 0 {
			ps[i-1].rank = orMax(rankOf(ps, i-1, 1))
		}
		ps = append(ps[:i+1], ps[i+2:]...)
	}
	*parts = ps
	return len(ps) - 1
}

func orMax(r int) int {
	if r < 0 {
		return math.MaxInt
	}
	return r
}
