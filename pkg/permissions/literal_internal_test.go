package permissions

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLiteralMatchesAreMatch: the precomputed answers for literal paths are
// what scanning every route answers, for every route's pattern (and
// variations of it) and every method, including ones no route uses.
func TestLiteralMatchesAreMatch(t *testing.T) {
	tbl := Default()
	require.NotEmpty(t, tbl.literal, "the default table has literal routes (the chat routes)")
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW", ""}
	for _, r := range tbl.Routes() {
		p := r.Pattern
		for _, path := range []string{p, p + "/", strings.ToUpper(p), p + ":x", strings.TrimSuffix(p, "/*") + "/a/b"} {
			for _, m := range methods {
				wantRoute, wantKnown := tbl.match(m, path)
				gotRoute, gotKnown := tbl.Match(m, path)
				require.Equal(t, wantRoute, gotRoute, "%s %s", m, path)
				require.Equal(t, wantKnown, gotKnown, "%s %s", m, path)
			}
		}
	}
	route, _ := tbl.Match("POST", "/v1/chat/completions")
	require.NotNil(t, route)
	require.Equal(t, "/v1/chat/completions", route.Pattern)
}

// TestPrefixIndexIsEveryRoute: matching among the routes the prefix index
// names answers as trying every route does, for paths made from every
// route's pattern (variables filled with plain, empty, nested and
// verb-carrying values, verbs and extra segments added) and every method.
func TestPrefixIndexIsEveryRoute(t *testing.T) {
	tbl := Default()
	every := make([]int, len(tbl.routes))
	for i := range every {
		every[i] = i
	}
	require.Less(t, len(tbl.byPrefix[[2]string{"v1", "secrets"}]), len(every)/2, "a secret route tries a fraction of the table")
	paths := testPaths(tbl)
	for _, path := range paths {
		for _, m := range []string{"GET", "POST", "PATCH", "DELETE", "BREW", ""} {
			segs, whole, verb := split(path)
			wantRoute, wantKnown := tbl.best(every, m, segs, whole, verb)
			gotRoute, gotKnown := tbl.match(m, path)
			require.Equal(t, wantRoute, gotRoute, "%s %q", m, path)
			require.Equal(t, wantKnown, gotKnown, "%s %q", m, path)
		}
	}
}

// testPaths are paths made from every route's pattern: variables filled
// with plain, empty, nested and verb-carrying values, verbs and extra
// segments added, doubled slashes.
func testPaths(tbl *Table) []string {
	fills := []string{"a", "a/b", "a:b", "", "a/b:value", "v1", ":x"}
	paths := []string{"", "/", "//", "/v1", "/v1/", "/v1:x", "/v1/secrets", "/v1/secrets:batchGet", "/v1/secrets:nope", "/v1//secrets", "/slack", "/slack/a", "/x/y/z"}
	for _, r := range tbl.routes {
		for _, fill := range fills {
			p := strings.TrimSuffix(r.Pattern, "/*") + "/" + fill
			if strings.ContainsRune(r.Pattern, '{') {
				p = r.Pattern
				for strings.ContainsRune(p, '{') {
					i, j := strings.IndexByte(p, '{'), strings.IndexByte(p, '}')
					p = p[:i] + fill + p[j+1:]
				}
			}
			paths = append(paths, p, p+":value", p+":x", p+"/", p+"/x", strings.Replace(p, "/", "//", 1))
		}
	}
	return paths
}

// TestMemoIsMatch: Match answers from its memo exactly as matching does,
// for every test path and method (more paths than the memo has slots, so
// colliding paths replace each other), concurrently; a path it answered
// is kept, unless longer than memoMaxPath.
func TestMemoIsMatch(t *testing.T) {
	tbl, err := New(routes, rpcs)
	require.NoError(t, err)
	paths := testPaths(tbl)
	long := "/v1/secrets/" + strings.Repeat("a/", memoMaxPath) + "x:value"
	paths = append(paths, long)
	require.Greater(t, len(paths), memoSize)
	methods := []string{"GET", "POST", "PATCH", "DELETE", "BREW", ""}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 2 {
				for i := range paths {
					path := paths[(i+g*len(paths)/4)%len(paths)]
					for _, m := range methods {
						wantRoute, wantKnown := tbl.match(m, path)
						gotRoute, gotKnown := tbl.Match(m, path)
						if wantRoute != gotRoute || wantKnown != gotKnown {
							t.Errorf("round %d: %s %q: got %v %v, want %v %v", round, m, path, gotRoute, gotKnown, wantRoute, wantKnown)
						}
					}
				}
			}
		})
	}
	wg.Wait()

	const read = "/v1/secrets/dev/app/db/pass:value"
	route, _ := tbl.Match("GET", read)
	require.NotNil(t, route)
	m, ok := tbl.memo.get("GET", read)
	require.True(t, ok, "a secret read's answer is kept")
	require.Same(t, route, m.route)
	_, ok = tbl.memo.get("POST", read)
	require.False(t, ok, "another method's answer is not this one")
	tbl.Match("GET", long)
	_, ok = tbl.memo.get("GET", long)
	require.False(t, ok, "a path longer than memoMaxPath is not kept")
}

// BenchmarkMatchSecretRead: a secret read's route, from the memo (Match,
// as the edge calls it) and matched among its candidates (match).
func BenchmarkMatchSecretRead(b *testing.B) {
	tbl := Default()
	for _, bm := range []struct {
		name  string
		match func(method, path string) (*Route, bool)
	}{{"memo", tbl.Match}, {"match", tbl.match}} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				if r, _ := bm.match("GET", "/v1/secrets/dev/bench/token/one:value"); r == nil {
					b.Fatal("no route")
				}
			}
		})
	}
}
