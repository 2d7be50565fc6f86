package permissions

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Table is the compiled permission table.
type Table struct {
	routes   []Route
	compiled []pattern
	rpcs     []RPC
	byRPC    map[string]*Route
	// callDelegates are CallDelegates of the RPCs whose row narrows its
	// service's forwards (RPC.Forwards).
	callDelegates map[string][]string
	// received are ReceivedDelegates of the RPCs that keep any.
	received map[string][]string
	// literal holds Match's answer for every path that is a route's whole
	// pattern (no variables, no subtree), for every method of the table:
	// computed by Match itself when the table is built, so the answers are
	// the same. The chat routes are such paths; scanning every route per
	// request was ~3 % of the edge's CPU (issue 15).
	literal map[methodPath]matched
	// byPrefix lists, for the first two segments of a path, the routes
	// that can match it, in table order: those whose pattern starts with
	// these two literal segments, and every route whose pattern does not
	// (rest). A path whose first two segments start no pattern tries rest
	// alone. A secret read scanned all 82 routes (once per request: the
	// edge's authentication reuses the router's match), ~5 % of the edge's
	// instructions per read (issue 15, ADR 0075).
	byPrefix map[[2]string][]int
	rest     []int
	// memo holds Match's answers for other paths (memo.go).
	memo *memo
	// audiences holds Audiences of every caller in rpcs: auth checks them
	// on every VerifyKey, and computing them scans every RPC row.
	audiences map[string][]string
}

type methodPath struct{ method, path string }

type matched struct {
	route     *Route
	pathKnown bool
}

// pattern is a compiled path template: literal segments, "*" for one
// segment ({x}), "**" for the rest of the path ({x=**}, zero or more
// segments), and an optional custom verb (":rotate").
type pattern struct {
	segs    []string
	verb    string
	subtree bool // "/slack/*": any path below the prefix
}

var (
	defaultOnce  sync.Once
	defaultTable *Table
)

// Default returns Rampart's permission table. It panics if the table in
// table.go is malformed, which the package's tests rule out.
func Default() *Table {
	defaultOnce.Do(func() {
		t, err := New(routes, rpcs)
		if err != nil {
			panic(err)
		}
		defaultTable = t
	})
	return defaultTable
}

// New compiles a table. Every route's pattern must parse, no two routes may
// share method and pattern, and every route's RPC must be listed in rpcs.
func New(routes []Route, rpcs []RPC) (*Table, error) {
	t := &Table{routes: slices.Clone(routes), rpcs: slices.Clone(rpcs), byRPC: map[string]*Route{}}
	names := map[string]bool{}
	for _, r := range t.rpcs {
		if names[r.Name] {
			return nil, fmt.Errorf("permissions: RPC %s listed twice", r.Name)
		}
		names[r.Name] = true
	}
	seen := map[string]bool{}
	for i := range t.routes {
		r := &t.routes[i]
		p, err := compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("permissions: route %s: %w", r.Key(), err)
		}
		if seen[r.Key()] {
			return nil, fmt.Errorf("permissions: route %s listed twice", r.Key())
		}
		seen[r.Key()] = true
		if r.RPC != "" {
			if !names[r.RPC] {
				return nil, fmt.Errorf("permissions: route %s: RPC %s is not in the RPC table", r.Key(), r.RPC)
			}
			// The first route of an RPC is its main one (the chat RPC also
			// serves the legacy /v1/completions).
			if t.byRPC[r.RPC] == nil {
				t.byRPC[r.RPC] = r
			}
		}
		if !r.Public && r.MinRole == RoleNone {
			return nil, fmt.Errorf("permissions: route %s: an authenticated route needs a minimum role", r.Key())
		}
		if r.MaxBody <= 0 || r.Rate == "" || r.Tenant == "" {
			return nil, fmt.Errorf("permissions: route %s: body limit, rate class and tenant binding are required", r.Key())
		}
		t.compiled = append(t.compiled, p)
	}
	t.byPrefix, t.rest = t.prefixIndex()
	t.literal = t.literalMatches()
	t.memo = newMemo()
	t.audiences = t.allAudiences()
	d, err := t.narrowedDelegates()
	if err != nil {
		return nil, err
	}
	t.callDelegates = d
	for i := range t.routes {
		r := &t.routes[i]
		r.resolved, r.service = true, ServiceOf(r.RPC)
		r.delegates, r.narrowed = d[r.RPC]
	}
	t.received = t.receivedDelegates()
	for i := range t.rpcs {
		if r := t.byRPC[t.rpcs[i].Name]; r != nil && t.rpcs[i].Tenant == "" {
			t.rpcs[i].Tenant = r.Tenant
		}
		if t.rpcs[i].Tenant == "" {
			t.rpcs[i].Tenant = BindTenant
		}
	}
	return t, nil
}

// Routes returns the REST routes, in table order.
func (t *Table) Routes() []Route { return slices.Clone(t.routes) }

// RPCs returns the gRPC methods, in table order.
func (t *Table) RPCs() []RPC { return slices.Clone(t.rpcs) }

// RPC returns the entry of a full method name.
func (t *Table) RPC(name string) (RPC, bool) {
	for _, r := range t.rpcs {
		if r.Name == name {
			return r, true
		}
	}
	return RPC{}, false
}

// RouteOf returns the REST route that reaches an RPC, if any.
func (t *Table) RouteOf(rpc string) (Route, bool) {
	r, ok := t.byRPC[rpc]
	if !ok {
		return Route{}, false
	}
	return *r, true
}

// Match returns the route of a request. A path that matches a route of
// another method reports pathKnown (the edge answers 405, not 404). Custom
// verbs match first, then templates with more literal segments, as
// grpc-gateway's router would; a verbless template also matches a last
// segment that contains ':' (secret names cannot, so that answers 400 from
// the backend rather than reaching another route).
func (t *Table) Match(method, path string) (route *Route, pathKnown bool) {
	if m, ok := t.literal[methodPath{method, path}]; ok {
		return m.route, m.pathKnown
	}
	if m, ok := t.memo.get(method, path); ok {
		return m.route, m.pathKnown
	}
	route, pathKnown = t.match(method, path)
	t.memo.put(method, path, matched{route: route, pathKnown: pathKnown})
	return route, pathKnown
}

// literalMatches computes the literal map (see Table).
func (t *Table) literalMatches() map[methodPath]matched {
	var methods []string
	for _, r := range t.routes {
		if r.Method != "" && !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	out := map[methodPath]matched{}
	for _, r := range t.routes {
		if strings.ContainsAny(r.Pattern, "{*") {
			continue
		}
		for _, m := range methods {
			route, known := t.match(m, r.Pattern)
			out[methodPath{m, r.Pattern}] = matched{route: route, pathKnown: known}
		}
	}
	return out
}

// prefixIndex computes byPrefix and rest (see Table).
func (t *Table) prefixIndex() (map[[2]string][]int, []int) {
	byPrefix := map[[2]string][]int{}
	var rest []int
	for i, p := range t.compiled {
		if k, ok := p.prefix(); ok {
			byPrefix[k] = append(byPrefix[k], i)
		} else {
			rest = append(rest, i)
		}
	}
	for k, l := range byPrefix {
		l = append(l, rest...)
		slices.Sort(l) // table order: the first of equal scores wins
		byPrefix[k] = l
	}
	return byPrefix, rest
}

// prefix returns the pattern's first two segments when both are literal
// (no ':', which a path's segment may carry before its verb).
func (p pattern) prefix() ([2]string, bool) {
	if len(p.segs) < 2 {
		return [2]string{}, false
	}
	for _, s := range p.segs[:2] {
		if s == "*" || s == "**" || strings.ContainsRune(s, ':') {
			return [2]string{}, false
		}
	}
	return [2]string{p.segs[0], p.segs[1]}, true
}

// candidates returns the routes that can match a path of these segments
// (whole, as split returns it). A pattern with a literal prefix matches
// only a path whose first segment is that literal and whose second is it
// too, either with the verb cut off (when the second is the last) or
// whole: in both cases the second segment up to its first ':' is the
// literal, which has none.
func (t *Table) candidates(whole []string) []int {
	if len(whole) < 2 {
		return t.rest
	}
	second, _, _ := strings.Cut(whole[1], ":")
	if l, ok := t.byPrefix[[2]string{whole[0], second}]; ok {
		return l
	}
	return t.rest
}

// match is Match without the literal map: the routes that can match the
// path (candidates) are tried.
func (t *Table) match(method, path string) (route *Route, pathKnown bool) {
	segs, whole, verb := split(path)
	return t.best(t.candidates(whole), method, segs, whole, verb)
}

// best returns the best-scoring of the routes at indices (ascending) that
// match, the first of equal scores, and whether any route of another
// method matched.
func (t *Table) best(indices []int, method string, segs, whole []string, verb string) (route *Route, pathKnown bool) {
	best, bestScore := -1, -1
	for _, i := range indices {
		score, ok := t.compiled[i].match(segs, whole, verb)
		if !ok {
			continue
		}
		r := &t.routes[i]
		if r.Method != "" && r.Method != method {
			pathKnown = true
			continue
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return nil, pathKnown
	}
	return &t.routes[best], true
}

func compile(tmpl string) (pattern, error) {
	if !strings.HasPrefix(tmpl, "/") {
		return pattern{}, fmt.Errorf("pattern %q must start with /", tmpl)
	}
	if prefix, ok := strings.CutSuffix(tmpl, "/*"); ok {
		return pattern{segs: strings.Split(prefix[1:], "/"), subtree: true}, nil
	}
	var p pattern
	body := tmpl[1:]
	// The verb follows the last ':' outside braces.
	if i := strings.LastIndexByte(body, ':'); i >= 0 && !strings.Contains(body[i:], "}") {
		body, p.verb = body[:i], body[i+1:]
		if p.verb == "" {
			return pattern{}, fmt.Errorf("pattern %q: empty verb", tmpl)
		}
	}
	for _, s := range strings.Split(body, "/") {
		switch {
		case s == "":
			return pattern{}, fmt.Errorf("pattern %q: empty segment", tmpl)
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "=**}"):
			p.segs = append(p.segs, "**")
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && !strings.Contains(s, "="):
			p.segs = append(p.segs, "*")
		case strings.ContainsAny(s, "{}=*"):
			return pattern{}, fmt.Errorf("pattern %q: unsupported segment %q", tmpl, s)
		default:
			p.segs = append(p.segs, s)
		}
	}
	for i, s := range p.segs {
		if s == "**" && i != len(p.segs)-1 {
			return pattern{}, fmt.Errorf("pattern %q: {x=**} must be the last segment", tmpl)
		}
	}
	return p, nil
}

// split cuts a request path into segments and a custom verb (after the last
// ':' of the last segment).
// split returns the path's segments with the verb cut off the last one,
// the segments as they are (whole: the last one keeps ":verb"; the same
// slice as segs without a verb) and the verb. whole is built once per
// request rather than once per verbless route (issue 15: that allocation
// per route was most of the edge's route matching).
func split(path string) (segs, whole []string, verb string) {
	path = strings.TrimPrefix(path, "/")
	whole = strings.Split(path, "/")
	segs = whole
	last := whole[len(whole)-1]
	if i := strings.LastIndexByte(last, ':'); i >= 0 {
		verb = last[i+1:]
		segs = append(whole[:len(whole)-1:len(whole)-1], last[:i])
	}
	return segs, whole, verb
}

// match reports whether the pattern matches, with a score that prefers
// custom verbs and literal segments.
func (p pattern) match(segs, whole []string, verb string) (int, bool) {
	if p.subtree {
		if len(segs) <= len(p.segs) {
			return 0, false
		}
		for i, s := range p.segs {
			if segs[i] != s {
				return 0, false
			}
		}
		return len(p.segs), true
	}
	if p.verb != verb {
		if p.verb != "" {
			return 0, false
		}
		// A verbless template sees the whole last segment, ':' included.
		segs = whole
	}
	score := 0
	if p.verb != "" {
		score += 1000
	}
	for i, s := range p.segs {
		switch s {
		case "**":
			// Zero or more remaining segments, none empty.
			for _, rest := range segs[i:] {
				if rest == "" {
					return 0, false
				}
			}
			return score, true
		case "*":
			if i >= len(segs) || segs[i] == "" {
				return 0, false
			}
		default:
			if i >= len(segs) || segs[i] != s {
				return 0, false
			}
			score += 10
		}
	}
	if len(segs) != len(p.segs) {
		return 0, false
	}
	return score + 1, true
}
