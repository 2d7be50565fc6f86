package ingest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/retrievaleval"
	"github.com/rampart-platform/rampart/services/ingestion/internal/ingest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// repoRoot is the repository, from this package's directory.
const repoRoot = "../../../.."

// handbook is the document of the README's quick start
// (`rampart doc add -c handbook docs/security.md`).
const handbook = "docs/security.md"

// rampartDocs are the Markdown documents of the repository's own docs
// corpus: the README, docs/*.md, the services' READMEs and the ADRs, by
// source name (their path in the repository).
func rampartDocs(t *testing.T) map[string]string {
	t.Helper()
	var paths []string
	for _, g := range []string{"README.md", "docs/*.md", "services/*/README.md", "docs/adr/[0-9]*.md"} {
		m, err := filepath.Glob(filepath.Join(repoRoot, g))
		require.NoError(t, err)
		paths = append(paths, m...)
	}
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		rel, err := filepath.Rel(repoRoot, p)
		require.NoError(t, err)
		out[filepath.ToSlash(rel)] = string(b)
	}
	require.Contains(t, out, handbook)
	return out
}

// docsRun is one configuration's scores on the two collections.
type docsRun struct {
	// handbook: the questions about docs/security.md over that document
	// alone; docs: every question over the whole corpus (the set the
	// weights were chosen on)
	handbook, docs map[ingest.Mode]retrievaleval.Summary
	// heldHandbook, heldDocs: the same for heldout.jsonl, questions
	// written before ADR 0113's tuning and not used for it
	heldHandbook, heldDocs map[ingest.Mode]retrievaleval.Summary
	// hybrid: questions without a relevant passage in the top 5
	handbookMisses, docsMisses, heldMisses []string
}

// TestRetrievalQualityRampartDocs scores the passages hybrid search, BM25
// alone and the vector leg alone return for eval/rampartdocs, questions
// with the passages that answer them, over the repository's own docs:
// the README's quick start (docs/security.md alone in a collection) and
// the whole docs corpus, for the development set (questions.jsonl) and
// the held-out one (heldout.jsonl). It holds floors under the measured
// values (ADR 0104, ADR 0113), so ranking the answering prose under table
// rows again, or losing the reranking, fails here.
func TestRetrievalQualityRampartDocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("corpus test: skipped with -short and under the race detector (it measures quality, not concurrency)")
	}
	corpus := rampartDocs(t)
	qs := loadSet(t, "../../eval/rampartdocs/questions.jsonl")
	held := loadSet(t, "../../eval/rampartdocs/heldout.jsonl")
	// The docs change; a quote that left its document must be rewritten
	// in the set rather than silently count as a miss.
	for _, q := range slices.Concat(qs, held) {
		for _, p := range q.Passages {
			in := slices.ContainsFunc(q.Relevant, func(src string) bool {
				return strings.Contains(retrievaleval.Squeeze(corpus[src]), retrievaleval.Squeeze(p))
			})
			require.True(t, in, "eval/rampartdocs question %s: %q is no longer in %v; update the question", q.ID, p, q.Relevant)
		}
	}
	// none: table rows ranked as any passage, no reranking; adr0104: the
	// table weight alone; adr0113: the table weight and ADR 0113's
	// reranking of the opened passages by query-term proximity, over the
	// flat windows of before ADR 0119; now: the defaults (the same ranking
	// over chunks that follow the documents' sections, ADR 0119)
	off := ingest.Rerank{}
	runs := map[string]docsRun{}
	for _, c := range []struct {
		name   string
		weight float64
		rerank *ingest.Rerank
		flat   bool
	}{{"none", 1, &off, false}, {"adr0104", 0, &off, false}, {"adr0113", 0, nil, true}, {"now", 0, nil, false}} {
		if only := os.Getenv("RAMPART_EVAL_ONLY"); only != "" && !strings.Contains(","+only+",", ","+c.name+",") {
			continue
		}
		r := measureDocs(t, corpus, qs, held, func(o *ingest.Options) {
			o.TableWeight, o.Rerank, o.Chunk.Flat = c.weight, c.rerank, c.flat
		})
		for _, m := range []ingest.Mode{ingest.ModeHybrid, ingest.ModeLexical, ingest.ModeVector} {
			t.Logf("%-7s handbook %-6s %s", c.name, modeName(m), r.handbook[m])
		}
		for _, m := range []ingest.Mode{ingest.ModeHybrid, ingest.ModeLexical, ingest.ModeVector} {
			t.Logf("%-7s docs     %-6s %s", c.name, modeName(m), r.docs[m])
		}
		for _, m := range []ingest.Mode{ingest.ModeHybrid, ingest.ModeLexical, ingest.ModeVector} {
			t.Logf("%-7s held-out handbook %-6s %s", c.name, modeName(m), r.heldHandbook[m])
			t.Logf("%-7s held-out docs     %-6s %s", c.name, modeName(m), r.heldDocs[m])
		}
		t.Logf("%-7s hybrid misses at 5: handbook %s; docs %s; held-out docs %s", c.name, strings.Join(r.handbookMisses, ", "), strings.Join(r.docsMisses, ", "), strings.Join(r.heldMisses, ", "))
		runs[c.name] = r
	}
	if os.Getenv("RAMPART_EVAL_ONLY") != "" {
		t.Skip("RAMPART_EVAL_ONLY: measured, not checked")
	}
	none, adr0104, adr0113, now := runs["none"], runs["adr0104"], runs["adr0113"], runs["now"]
	hy := ingest.ModeHybrid
	// Floors a little under the measured values (ADR 0119: handbook
	// 0.774–0.795 / 0.847, docs 0.520–0.526 / 0.652): about two questions of slack,
	// as the corpus is the repository's live docs.
	require.GreaterOrEqual(t, now.handbook[hy].MRR10, 0.72, "handbook: hybrid MRR@10")
	require.GreaterOrEqual(t, now.handbook[hy].Recall[5], 0.78, "handbook: hybrid recall@5")
	require.GreaterOrEqual(t, now.docs[hy].MRR10, 0.48, "docs: hybrid MRR@10")
	require.GreaterOrEqual(t, now.docs[hy].Recall[5], 0.60, "docs: hybrid recall@5")
	// The table weight must not cost (ADR 0104): on the handbook at least
	// as good as without it, on the corpus — live documents, that others
	// edit — within a rank step of one question.
	require.GreaterOrEqual(t, adr0104.handbook[hy].MRR10, none.handbook[hy].MRR10, "handbook: table weight against none")
	require.GreaterOrEqual(t, adr0104.docs[hy].MRR10, none.docs[hy].MRR10-0.02, "docs: table weight against none")
	// Chunks that follow the sections (ADR 0119) against the flat windows
	// of before, same ranking: better on the handbook and the corpus
	// (measured +0.080 and +0.043 MRR@10, +0.038 and +0.021 after review
	// 9's passages) and on the held-out handbook (+0.368). The held-out
	// corpus lost first ranks (h07, h09: −0.117, −0.033 after review 9;
	// ADR 0119), not checked against the flat windows.
	require.Greater(t, now.handbook[hy].MRR10, adr0113.handbook[hy].MRR10, "handbook: sections against flat windows")
	require.Greater(t, now.docs[hy].MRR10, adr0113.docs[hy].MRR10, "docs: sections against flat windows")
	require.GreaterOrEqual(t, now.heldHandbook[hy].MRR10, adr0113.heldHandbook[hy].MRR10, "held-out handbook: sections against flat windows")
	// The reranking must add on the corpus, where the ADRs' passages
	// that share the question's words outranked the sentence that answers
	// (measured +0.081 MRR@10 over flat windows, ADR 0113; +0.046 over
	// the sections' chunks, ADR 0119), and cost nowhere more than one
	// question falling from rank 1 to 2 (0.5/questions): the handbook and
	// the held-out questions.
	require.GreaterOrEqual(t, now.docs[hy].MRR10, adr0104.docs[hy].MRR10+0.03, "docs: reranking against none")
	for _, c := range []struct {
		name      string
		now, base retrievaleval.Summary
	}{
		{"handbook", now.handbook[hy], adr0104.handbook[hy]},
		{"held-out handbook", now.heldHandbook[hy], adr0104.heldHandbook[hy]},
		{"held-out docs", now.heldDocs[hy], adr0104.heldDocs[hy]},
	} {
		require.GreaterOrEqual(t, c.now.MRR10, c.base.MRR10-0.5/float64(c.base.Questions), "%s: reranking against none", c.name)
	}
}

func modeName(m ingest.Mode) string {
	return [...]string{"hybrid", "bm25", "vector"}[m]
}

// measureDocs ingests the handbook into one collection and the corpus into
// another and scores qs and held against both.
func measureDocs(t *testing.T, corpus map[string]string, qs, held []retrievaleval.Question, set func(*ingest.Options)) docsRun {
	t.Helper()
	e := newEnvWith(t, 1, set)
	_, err := e.svc.CreateCollection(e.ctx, "t", "", nil, "handbook", "", "")
	require.NoError(t, err)
	add := func(collection, src string) {
		_, _, _, err := e.svc.Ingest(e.ctx, "t", ingest.Input{Collection: collection, Content: []byte(corpus[src]), ContentType: "text/markdown", Source: src})
		require.NoError(t, err)
		require.Equal(t, store.JobSucceeded, <-e.done, src)
	}
	add("handbook", handbook)
	srcs := make([]string, 0, len(corpus))
	for src := range corpus {
		srcs = append(srcs, src)
	}
	slices.Sort(srcs)
	for _, src := range srcs {
		add("kb", src)
	}
	// The handbook's questions: those about it, with its quotes only.
	onHandbook := func(qs []retrievaleval.Question) []retrievaleval.Question {
		var hq []retrievaleval.Question
		for _, q := range qs {
			if !slices.Contains(q.Relevant, handbook) {
				continue
			}
			q.Relevant = []string{handbook}
			q.Passages = slices.DeleteFunc(slices.Clone(q.Passages), func(p string) bool {
				return !strings.Contains(retrievaleval.Squeeze(corpus[handbook]), retrievaleval.Squeeze(p))
			})
			hq = append(hq, q)
		}
		return hq
	}
	hq, hh := onHandbook(qs), onHandbook(held)
	mark := ""
	ks := []int{1, 3, 5, 10}
	score := func(collection string, qs []retrievaleval.Question, mode ingest.Mode) (retrievaleval.Summary, []string) {
		var all []retrievaleval.Scores
		var missed []string
		for _, q := range qs {
			ps, err := e.svc.SearchMode(e.ctx, "t", collection, q.Question, 10, mode)
			require.NoError(t, err)
			rs := make([]retrievaleval.Result, len(ps))
			for i, p := range ps {
				rs[i] = retrievaleval.Result{DocumentID: p.DocumentID, Source: p.Source, Text: p.Text}
			}
			s := retrievaleval.ScoreQuestion(rs, q, ks)
			if os.Getenv("RAMPART_EVAL_VERBOSE") != "" && mode == ingest.ModeHybrid {
				// each question's first relevant rank and top passages
				t.Logf("%s %s %s: rank %d", collection, mark, q.ID, s.FirstRank)
				for i, p := range ps[:min(3, len(ps))] {
					t.Logf("  %d %.4f %q", i+1, p.Score, p.Text[:min(100, len(p.Text))])
				}
			}
			if s.FirstRank == 0 || s.FirstRank > 5 {
				missed = append(missed, fmt.Sprintf("%s (rank %d)", q.ID, s.FirstRank))
			}
			all = append(all, s)
		}
		return retrievaleval.Summarize(all, ks), missed
	}
	r := docsRun{
		handbook: map[ingest.Mode]retrievaleval.Summary{}, docs: map[ingest.Mode]retrievaleval.Summary{},
		heldHandbook: map[ingest.Mode]retrievaleval.Summary{}, heldDocs: map[ingest.Mode]retrievaleval.Summary{},
	}
	for _, m := range []ingest.Mode{ingest.ModeHybrid, ingest.ModeLexical, ingest.ModeVector} {
		var hm, dm, xm []string
		mark = "dev"
		r.handbook[m], hm = score("handbook", hq, m)
		r.docs[m], dm = score("kb", qs, m)
		mark = "held"
		r.heldHandbook[m], _ = score("handbook", hh, m)
		r.heldDocs[m], xm = score("kb", held, m)
		if m == ingest.ModeHybrid {
			r.handbookMisses, r.docsMisses, r.heldMisses = hm, dm, xm
		}
	}
	return r
}
