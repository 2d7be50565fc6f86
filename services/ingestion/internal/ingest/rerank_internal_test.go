package ingest

import (
	"math"
	"testing"

	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
)

// TestMinWindow: the narrowest span of positions holding one position of
// every list.
func TestMinWindow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lists [][]int
		want  int
	}{
		{"one list", [][]int{{4, 9}}, 1},
		{"adjacent", [][]int{{3}, {4}}, 2},
		{"order does not matter", [][]int{{10}, {2, 9}}, 2},
		{"the later pair is closer", [][]int{{1, 20}, {12, 22}}, 3},
		{"three terms", [][]int{{1, 30}, {5, 28}, {40, 29}}, 3},
		{"spread", [][]int{{1}, {50}, {100}}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := minWindow(tc.lists); got != tc.want {
				t.Errorf("minWindow(%v) = %d, want %d", tc.lists, got, tc.want)
			}
		})
	}
}

// TestRerankFactor: a passage holding every query term next to each
// other keeps its score; fewer terms, or the same terms spread out, lower
// it; terms the collection does not have weigh nothing.
func TestRerankFactor(t *testing.T) {
	r := Rerank{Coverage: 0.5, Proximity: 1}
	qt := []index.QueryTerm{{Term: "rotat", IDF: 2}, {Term: "kei", IDF: 1}, {Term: "zzz", IDF: 0}}
	near := Passage{Text: "A key may rotate itself."}
	far := Passage{Text: "A key is shown once at creation; much later, after many other words here, someone may rotate it."}
	half := Passage{Text: "Rotation happens at night."}
	none := Passage{Text: "Nothing to see."}
	fNear, fFar, fHalf, fNone := r.factor(qt, near), r.factor(qt, far), r.factor(qt, half), r.factor(qt, none)
	// near: every informative term (cov 1) in a window of 3 words (key
	// and rotate at positions 2 and 4): prox = 2/3
	want := (1 + 0.5*1 + 1*2.0/3) / 2.5
	if math.Abs(fNear-want) > 1e-9 {
		t.Errorf("near: factor %v, want %v", fNear, want)
	}
	if !(fNear > fFar && fFar > fHalf && fHalf > fNone) {
		t.Errorf("factors near %v, far %v, half %v, none %v: want strictly decreasing", fNear, fFar, fHalf, fNone)
	}
	// one of the two informative terms: no proximity
	wantHalf := (1 + 0.5*2.0/3) / 2.5
	if math.Abs(fHalf-wantHalf) > 1e-9 {
		t.Errorf("half: factor %v, want %v", fHalf, wantHalf)
	}
	if got := (Rerank{}).factor(qt, near); got != 1 {
		t.Errorf("weights off: factor %v, want 1", got)
	}
	// a query of one informative term: its coverage counts as proximity
	if got, want := r.factor([]index.QueryTerm{{Term: "kei", IDF: 1}, {Term: "zzz"}}, half), 1/2.5; math.Abs(got-want) > 1e-9 {
		t.Errorf("one-term query, term absent: factor %v, want %v", got, want)
	}
	if got := r.factor([]index.QueryTerm{{Term: "kei", IDF: 1}}, near); got != 1 {
		t.Errorf("one-term query, term present: factor %v, want 1", got)
	}
	if got := r.factor([]index.QueryTerm{{Term: "kei"}}, near); got != 1 {
		t.Errorf("no term in the collection: factor %v, want 1", got)
	}
}

// TestRerankSectionTitled: a passage whose own section heading names every
// informative query term gets the Section weight; a heading naming some of
// them, a parent heading naming them, or no heading does not (ADR 0133).
func TestRerankSectionTitled(t *testing.T) {
	qt := []index.QueryTerm{{Term: "rotat", IDF: 2}, {Term: "kei", IDF: 1}, {Term: "zzz", IDF: 0}}
	text := "Over REST the rotation needs a scope."
	for _, tc := range []struct {
		name    string
		heading string
		titled  bool
	}{
		{"own section names every term", "Security > API keys: how they are rotated", true},
		{"a heading without a path", "Rotating keys", true},
		{"one term of two", "Security > Rotation schedule", false},
		{"only a parent names them", "Key rotation > Found and fixed", false},
		{"no heading", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Passage{Text: text, Heading: tc.heading}
			if got := sectionTitled(qt, tc.heading); got != tc.titled {
				t.Fatalf("sectionTitled(%q) = %v, want %v", tc.heading, got, tc.titled)
			}
			base := Rerank{Coverage: 0.5, Proximity: 1}
			with := base
			with.Section = 0.5
			fb, fw := base.factor(qt, p), with.factor(qt, p)
			if tc.titled {
				// (1 + 0.5·cov + prox + 0.5) / 3 against (1 + 0.5·cov + prox) / 2.5
				if fw <= fb {
					t.Errorf("titled: factor %v with Section, %v without: want higher", fw, fb)
				}
			} else if want := fb * 2.5 / 3; math.Abs(fw-want) > 1e-9 {
				t.Errorf("not titled: factor %v, want %v (the weight only in the denominator)", fw, want)
			}
		})
	}
	if sectionTitled([]index.QueryTerm{{Term: "zzz"}}, "zzz") {
		t.Error("a query without informative terms titles no section")
	}
}
