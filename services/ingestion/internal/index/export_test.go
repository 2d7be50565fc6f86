package index

import "testing"

// NewTestKeys returns a random tenant key for tests.
func NewTestKeys(t testing.TB) Keys { return newTestKeys(t) }

// NewKeyedLexical returns a Lexical under dir using k for every tenant.
func NewKeyedLexical(dir string, k Keys) *Lexical { return keyed(dir, k) }
