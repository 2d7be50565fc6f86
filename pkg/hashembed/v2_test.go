package hashembed

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVectorV2(t *testing.T) {
	a := VectorV2("Manage multiple working trees", 256)
	require.Equal(t, a, VectorV2("manage MULTIPLE working-trees!", 256), "case and punctuation do not matter")
	var norm float64
	for _, x := range a {
		norm += float64(x) * float64(x)
	}
	require.InDelta(t, 1, math.Sqrt(norm), 1e-6, "L2-normalised")
	require.Equal(t, make([]float32, 16), VectorV2("what is the", 16), "stop words alone carry nothing")
	require.Equal(t, VectorV2("rotate certificates", 256), VectorV2("how to rotate certificates?", 256), "stop words are dropped")
	require.NotEqual(t, VectorV2("x", 64), Vector("x", 64), "a different algorithm from Version 1")
}

// TestVectorV2CharGrams: character n-grams make inflections and compounds
// similar where whole words do not match at all.
func TestVectorV2CharGrams(t *testing.T) {
	for _, c := range []struct{ q, near, far string }{
		{"credentials", "credential helper", "network protocol"},
		{"worktree", "working trees", "merge strategies"},
		{"rebasing", "rebase", "tagging"},
	} {
		t.Run(c.q, func(t *testing.T) {
			q := VectorV2(c.q, 768)
			require.Greater(t, cos(q, VectorV2(c.near, 768)), cos(q, VectorV2(c.far, 768))+0.1)
			require.InDelta(t, 0, cos(Vector(c.q, 768), Vector(c.near, 768)), 0.05, "Version 1 sees no similarity")
		})
	}
}

func TestMix(t *testing.T) {
	a, b := VectorV2("alpha", 64), VectorV2("beta", 64)
	m := Mix(a, b, 0.5)
	require.InDelta(t, 1, math.Sqrt(cos(m, m)), 1e-6)
	require.Greater(t, cos(m, a), cos(m, b), "the chunk's own vector dominates")
	require.Greater(t, cos(m, b), cos(a, b))
	require.Equal(t, make([]float32, 4), Mix(make([]float32, 4), make([]float32, 4), 0.5))
}

// TestMixInto: in place (dst is a, or a is b) gives Mix's bits.
func TestMixInto(t *testing.T) {
	a, b := VectorV2("alpha gamma", 64), VectorV2("beta", 64)
	for _, c := range []struct {
		name   string
		a, b   []float32
		inA    bool // dst is a
		isSelf bool // a is b
	}{
		{"fresh dst", a, b, false, false},
		{"dst is a", a, b, true, false},
		{"a is b, dst is both", a, a, true, true},
		{"zero", make([]float32, 64), make([]float32, 64), true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := Mix(c.a, c.b, 0.5)
			x := slices.Clone(c.a)
			y := slices.Clone(c.b)
			if c.isSelf {
				y = x
			}
			dst := make([]float32, len(x))
			if c.inA {
				dst = x
			}
			require.Equal(t, want, MixInto(dst, x, y, 0.5))
		})
	}
}

// referenceV2 is VectorV2 written plainly (feature strings, a map), to pin
// the optimised implementation to the definition.
func referenceV2(text string, dims int) []float32 {
	tf := map[string]float64{}
	prev := ""
	for _, w := range Words(text) {
		if stopWords[w] {
			prev = ""
			continue
		}
		tf["w:"+w] += unigramWeight
		if prev != "" {
			tf["b:"+prev+" "+w] += bigramWeight
		}
		prev = w
		rs := []rune("<" + w + ">")
		var grams []string
		for n := minGram; n <= maxGram; n++ {
			for i := 0; i+n <= len(rs); i++ {
				grams = append(grams, string(rs[i:i+n]))
			}
		}
		for _, g := range grams {
			tf["c:"+g] += charWeight / math.Sqrt(float64(len(grams)))
		}
	}
	v := make([]float64, dims)
	n := uint64(dims) //nolint:gosec // dims is positive
	for f, x := range tf {
		h := fnvString(fnvOffset, f)
		if h>>63 == 1 {
			v[h%n] -= math.Log1p(x)
		} else {
			v[h%n] += math.Log1p(x)
		}
	}
	return normalise(v)
}

func TestVectorV2MatchesDefinition(t *testing.T) {
	long := strings.Repeat("Différent wörds and a long tail of unusual vocabulary number ", 200)
	var distinct strings.Builder // enough features to grow the table
	for i := range 3000 {
		fmt.Fprintf(&distinct, "word%dx ", i)
	}
	for _, text := range []string{"", "git", "Manage multiple working trees attached to the same repository", "héllo wörld 42 – the a an", long, distinct.String()} {
		want, got := referenceV2(text, 768), VectorV2(text, 768)
		require.Len(t, got, len(want))
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-6, "%q dim %d", text[:min(len(text), 20)], i)
		}
	}
}

// previousV2 is VectorV2 as it was before the word memo and the log1p
// cache: features hashed per occurrence, summed in first-seen order,
// math.Log1p per feature. The optimised form must give the same bits,
// so stored vectors and rankings do not move.
func previousV2(text string, dims int) []float32 {
	tf := map[uint64]float64{}
	var order []uint64
	add := func(h uint64, x float64) {
		if h == 0 {
			h = 1
		}
		if _, ok := tf[h]; !ok {
			order = append(order, h)
		}
		tf[h] += x
	}
	prev := ""
	for _, w := range Words(text) {
		if stopWords[w] {
			prev = ""
			continue
		}
		add(fnvString(wordSeed, w), unigramWeight)
		if prev != "" {
			add(fnvString(fnvString(fnvString(bigramSeed, prev), " "), w), bigramWeight)
		}
		prev = w
		buf := []byte("<" + w + ">")
		var offs []int
		for i := range string(buf) {
			offs = append(offs, i)
		}
		offs = append(offs, len(buf))
		runes := len(offs) - 1
		grams := 0
		for n := minGram; n <= maxGram; n++ {
			grams += max(0, runes-n+1)
		}
		each := charWeight / math.Sqrt(float64(grams))
		for n := minGram; n <= maxGram; n++ {
			for i := 0; i+n <= runes; i++ {
				add(fnvBytes(charSeed, buf[offs[i]:offs[i+n]]), each)
			}
		}
	}
	v := make([]float64, dims)
	for _, h := range order {
		idx := h % uint64(dims) //nolint:gosec // dims is positive
		if h>>63 == 1 {
			v[idx] -= math.Log1p(tf[h])
		} else {
			v[idx] += math.Log1p(tf[h])
		}
	}
	return normalise(v)
}

func TestVectorV2MatchesPrevious(t *testing.T) {
	var distinct strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&distinct, "Word%dX and%d ", i, i%7)
	}
	texts := []string{
		"", "git", "The", "Manage multiple working trees attached to the same repository",
		"héllo wörld 42 – the a an", "İstanbul ǅemal ΣΊΣΥΦΟΣ straße", "a-b_c.d/e\x00f\xffg",
		strings.Repeat("Différent wörds and a long tail of unusual vocabulary number ", 200),
		strings.Repeat("rotate the certificates every 45 days; rotate keys yearly. ", 50),
		distinct.String(), chunkText,
		// words the memo does not keep (longer than maxMemoWord), one with
		// more n-grams than a 16-bit count holds
		strings.Repeat("x", maxMemoWord) + " " + strings.Repeat("y", maxMemoWord+1) + " " + strings.Repeat("ab", 20000) + " tail",
	}
	for range 2 { // the second round reads the word memo and log cache
		for _, text := range texts {
			for _, dims := range []int{16, 256, 768} {
				require.Equal(t, previousV2(text, dims), VectorV2(text, dims), "%q at %d", text[:min(len(text), 20)], dims)
			}
		}
	}
}
