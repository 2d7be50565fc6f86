package keys

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxNameLen     = 128
	maxSubjectLen  = 256
	maxListLen     = 64
	maxListItemLen = 256
)

func checkText(field, v string, maxLen int) error {
	if v == "" {
		return invalid(field, "required")
	}
	if !utf8.ValidString(v) {
		return invalid(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > maxLen {
		return invalid(field, "must be at most %d characters, got %d", maxLen, n)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return invalid(field, "must not contain control characters")
	}
	if i := strings.IndexFunc(v, invisible); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return invalid(field, "must not contain invisible or bidirectional-control characters (U+%04X at byte %d)", r, i)
	}
	if strings.TrimSpace(v) != v {
		return invalid(field, "must not start or end with spaces")
	}
	return nil
}

func checkScopes(field string, scopes []string) error {
	if len(scopes) == 0 {
		return invalid(field, "at least one scope is required (known: %s)", strings.Join(KnownScopes, ", "))
	}
	seen := map[string]bool{}
	for i, s := range scopes {
		if !slices.Contains(KnownScopes, s) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "unknown scope %q (known: %s)", truncate(s), strings.Join(KnownScopes, ", "))
		}
		if seen[s] {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "duplicate scope %q", s)
		}
		seen[s] = true
	}
	return nil
}

func checkList(field string, items []string, endpoint bool) error {
	if len(items) > maxListLen {
		return invalid(field, "at most %d entries, got %d", maxListLen, len(items))
	}
	for i, it := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkText(f, it, maxListItemLen); err != nil {
			return err
		}
		if endpoint && !strings.HasPrefix(it, "/") {
			return invalid(f, "must be an HTTP path prefix starting with /")
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// invisible reports characters that render as nothing or reorder the text
// around them, so two names that look the same can differ (or a name can
// display as something it is not): format characters (Unicode Cf: the
// bidirectional embeddings, overrides and isolates, zero-width spaces and
// joiners, soft hyphen, BOM, tag characters…), the invisible operators and
// fillers that are not Cf (Hangul fillers, U+115F/U+1160/U+3164/U+FFA0,
// the braille blank U+2800, the Mongolian vowel separator), variation
// selectors, non-characters and private-use code points.
func invisible(r rune) bool {
	switch {
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Variation_Selector, r),
		unicode.Is(unicode.Noncharacter_Code_Point, r):
		return true
	case r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0, r == 0x2800, r == 0x180E, r == 0x034F:
		return true
	case unicode.IsSpace(r) && r != ' ':
		// Only the plain space: NBSP, ideographic and the other Unicode
		// spaces look like it but compare differently.
		return true
	}
	return false
}
