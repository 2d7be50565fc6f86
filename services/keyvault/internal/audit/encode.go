package audit

import (
	"encoding/json"
	"fmt"
	"time"
)

// encode returns r's JSON line — byte for byte what json.Marshal writes —
// with room for the newline the file sink adds. Every keyvault call writes
// one record, and encoding/json's reflection was ~3 % of keyvault's CPU per
// secret read (ADR 0039). Records whose strings all need no escaping — ids,
// names, SPIFFE ids, results: the common case — are written directly; any
// other record (a quote in an error detail, non-ASCII, a time outside
// years 0–9999) goes through json.Marshal, so the output never differs.
func encode(r Record) ([]byte, error) {
	if !plain(r) || r.Time.Year() < 0 || r.Time.Year() > 9999 {
		line, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("audit: encode: %w", err)
		}
		return line, nil
	}
	b := make([]byte, 0, encodedSize(r))
	b = append(b, `{"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = field(b, "request_id", r.RequestID, true)
	b = field(b, "tenant", r.Tenant, false)
	b = field(b, "caller", r.Caller, false)
	b = field(b, "subject", r.Subject, true)
	b = field(b, "key_id", r.KeyID, true)
	b = field(b, "action", r.Action, false)
	b = field(b, "name", r.Name, true)
	b = field(b, "version_id", r.VersionID, true)
	if len(r.Stages) > 0 {
		b = append(b, `,"stages":[`...)
		for i, s := range r.Stages {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, s...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	b = field(b, "result", r.Result, false)
	b = field(b, "detail", r.Detail, true)
	b = field(b, "value_hmac", r.ValueHMAC, true)
	return append(b, '}'), nil
}

// encodedSize bounds the length of a plain record's line and its newline,
// so encode allocates once (a guess that left out the ids grew the slice
// on every record, ADR 0068).
func encodedSize(r Record) int {
	// {"time":"…"} with RFC 3339 at most 35 bytes, eleven ,"key":"" of 77
	// key bytes, ,"stages":[] and the newline.
	n := len(`{"time":""}`) + 35 + 11*len(`,"":""`) + 77 + len(`,"stages":[]`) + 1
	for _, s := range [...]string{r.RequestID, r.Tenant, r.Caller, r.Subject, r.KeyID, r.Action, r.Name, r.VersionID, r.Result, r.Detail, r.ValueHMAC} {
		n += len(s)
	}
	for _, s := range r.Stages {
		n += len(s) + len(`"",`)
	}
	return n
}

// field appends ,"key":"v" (nothing for an empty omitempty field).
func field(b []byte, key, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '"')
	b = append(b, v...)
	return append(b, '"')
}

// plain reports whether every string of r is printable ASCII that
// encoding/json writes unchanged (no quote, backslash or HTML character).
func plain(r Record) bool {
	for _, s := range [...]string{r.RequestID, r.Tenant, r.Caller, r.Subject, r.KeyID, r.Action, r.Name, r.VersionID, r.Result, r.Detail, r.ValueHMAC} {
		if !plainString(s) {
			return false
		}
	}
	for _, s := range r.Stages {
		if !plainString(s) {
			return false
		}
	}
	return true
}

func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

// plainByte holds the bytes encoding/json writes unchanged in a string:
// printable ASCII but the quote, the backslash and the HTML characters.
// One look-up per byte instead of six comparisons: a read's record checks
// ~250 bytes (ADR 0075).
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
