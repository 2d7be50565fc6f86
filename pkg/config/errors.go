package config

import "fmt"

// FieldError reports a bad value for one setting. When it comes out of Load,
// Env and Flag name where the value can be set; Validate methods only need
// to fill Field (see [Invalidf]).
type FieldError struct {
	Field string // Go field path or name, e.g. "ListenAddr" or "Common.ListenAddr"
	Env   string // environment variable, "" if none or not known
	Flag  string // flag name without the dash, "" if none or not known
	Err   error
}

func (e *FieldError) Error() string {
	switch {
	case e.Env != "" && e.Flag != "":
		return fmt.Sprintf("%s (-%s): %v", e.Env, e.Flag, e.Err)
	case e.Env != "":
		return fmt.Sprintf("%s: %v", e.Env, e.Err)
	case e.Flag != "":
		return fmt.Sprintf("-%s: %v", e.Flag, e.Err)
	default:
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
}

func (e *FieldError) Unwrap() error { return e.Err }

// Invalidf returns a [*FieldError] for the Go field named field (its name,
// or its dotted path when the name is ambiguous), with a message formatted
// as by fmt.Errorf (so %w wraps). Use it in Validate methods; combine several
// with errors.Join to report every problem at once.
func Invalidf(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}
