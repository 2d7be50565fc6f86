package store

import (
	"strconv"
	"strings"
)

// Dialect identifies the SQL dialect of an opened database.
type Dialect int

// The supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	default:
		return "Dialect(" + strconv.Itoa(int(d)) + ")"
	}
}

// Placeholder returns the n-th (1-based) bind parameter: "?" for SQLite,
// "$n" for PostgreSQL.
func (d Dialect) Placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Rebind rewrites the "?" placeholders of query for d. For SQLite it returns
// query unchanged; for PostgreSQL each "?" becomes $1, $2, ... in order.
// Question marks inside string literals ('...'), quoted identifiers ("..."),
// dollar-quoted strings ($$...$$, $tag$...$tag$), line comments (-- ...) and
// block comments (/* ... */) are left alone. PostgreSQL's jsonb "?" operators
// cannot be written through Rebind; use jsonb_exists() and friends instead.
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := skipQuoted(query, i, c)
			b.WriteString(query[i:j])
			i = j
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			end := len(query)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(query[i:end])
			i = end
		case c == '$':
			end := skipDollarQuoted(query, i)
			b.WriteString(query[i:end])
			i = end
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// skipQuoted returns the index just past the quoted section starting at i
// (a doubled quote inside is an escaped quote), or len(s) if unterminated.
func skipQuoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// skipDollarQuoted returns the index just past a dollar-quoted string that
// starts at i, or i+1 if s[i] does not open one (e.g. a $1 parameter).
func skipDollarQuoted(s string, i int) int {
	j := i + 1
	for j < len(s) && (s[j] == '_' || isAlpha(s[j]) || (j > i+1 && isDigit(s[j]))) {
		j++
	}
	if j >= len(s) || s[j] != '$' {
		return i + 1
	}
	tag := s[i : j+1]
	k := strings.Index(s[j+1:], tag)
	if k < 0 {
		return len(s)
	}
	return j + 1 + k + len(tag)
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
