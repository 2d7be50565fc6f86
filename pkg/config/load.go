package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
)

// Finalizer is implemented by configs that derive values from others once
// every source has been applied (for example a directory defaulting to a
// subdirectory of another). Load calls it before Validate.
type Finalizer interface {
	Finalize() error
}

// Validator is implemented by configs that check themselves. Load calls it
// last.
type Validator interface {
	Validate() error
}

// Load fills dst, a pointer to a struct, from its default tags, the process
// environment and args (normally os.Args[1:]). See the package documentation
// for the tags and the precedence.
func Load(prefix string, dst any, args []string) error {
	return LoadWith(prefix, dst, args, os.LookupEnv)
}

// LoadWith is Load with the environment read through lookupEnv instead of
// os.LookupEnv, for tests and for callers that assemble their own
// environment.
func LoadWith(prefix string, dst any, args []string, lookupEnv func(string) (string, bool)) error {
	fields, err := collect(prefix, dst)
	if err != nil {
		return err
	}
	for _, f := range fields {
		if f.hasDef && f.v.IsZero() {
			if err := setValue(f.v, f.def); err != nil {
				return fmt.Errorf("config: field %s: bad default %q: %w", f.path, f.def, err)
			}
		}
		f.shown = formatValue(f.v)
	}
	for _, f := range fields {
		if f.env == "" {
			continue
		}
		s, ok := lookupEnv(f.env)
		if !ok || s == "" {
			continue
		}
		if err := setValue(f.v, s); err != nil {
			return fmt.Errorf("config: %w", f.fieldError(err))
		}
	}

	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, f := range fields {
		if f.flag != "" {
			fs.Var(flagValue{f}, f.flag, f.usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &HelpError{Usage: usage(fields)}
		}
		return fmt.Errorf("config: %w (-h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("config: unexpected argument %q (-h lists the flags)", fs.Arg(0))
	}

	if fin, ok := dst.(Finalizer); ok {
		if err := fin.Finalize(); err != nil {
			annotate(err, fields)
			return fmt.Errorf("config: %w", err)
		}
	}
	if val, ok := dst.(Validator); ok {
		if err := val.Validate(); err != nil {
			annotate(err, fields)
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

// Usage returns the help text for the settings of dst (a pointer to a
// struct) under prefix, showing the defaults dst would get from Load.
// It does not read the environment or change dst.
func Usage(prefix string, dst any) (string, error) {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return "", fmt.Errorf("config: Usage needs a non-nil pointer to a struct, got %T", dst)
	}
	cp := reflect.New(rv.Elem().Type())
	cp.Elem().Set(rv.Elem())
	err := LoadWith(prefix, cp.Interface(), []string{"-h"}, func(string) (string, bool) { return "", false })
	var he *HelpError
	if errors.As(err, &he) {
		return he.Usage, nil
	}
	return "", err
}

// HelpError is returned by Load when the arguments ask for help (-h, -help).
// Its text is the usage; errors.Is(err, flag.ErrHelp) reports true.
type HelpError struct {
	Usage string
}

func (e *HelpError) Error() string { return e.Usage }

// Is makes errors.Is(err, flag.ErrHelp) true.
func (e *HelpError) Is(target error) bool { return target == flag.ErrHelp }

// usage renders one entry per setting, in declaration order.
func usage(fields []*field) string {
	var b strings.Builder
	b.WriteString("Settings (flags win over environment variables, which win over defaults):\n")
	for _, f := range fields {
		b.WriteString("  ")
		tn := typeName(f.v.Type())
		if tn != "" {
			tn = " " + tn
		}
		switch {
		case f.flag != "" && f.env != "":
			fmt.Fprintf(&b, "-%s%s  (env %s)", f.flag, tn, f.env)
		case f.flag != "":
			fmt.Fprintf(&b, "-%s%s", f.flag, tn)
		default:
			fmt.Fprintf(&b, "%s%s  (environment only)", f.env, tn)
		}
		line := f.usage
		if f.shown != "" {
			line = strings.TrimSpace(fmt.Sprintf("%s (default %q)", line, f.shown))
		}
		fmt.Fprintf(&b, "\n    \t%s\n", line)
	}
	return b.String()
}

// flagValue adapts a field to flag.Value.
type flagValue struct{ f *field }

func (v flagValue) String() string {
	if v.f == nil {
		return ""
	}
	return formatValue(v.f.v)
}

func (v flagValue) Set(s string) error { return setValue(v.f.v, s) }

func (v flagValue) IsBoolFlag() bool { return v.f != nil && v.f.v.Kind() == reflect.Bool }

// annotate fills in the environment variable and flag of every FieldError in
// err's tree that names a field of this config by its Go path.
func annotate(err error, fields []*field) {
	walk(err, func(e error) {
		fe, ok := e.(*FieldError) //nolint:errorlint // walk visits every wrapped error itself.
		if !ok || fe.Env != "" || fe.Flag != "" {
			return
		}
		if f := lookupField(fields, fe.Field); f != nil {
			fe.Env, fe.Flag = f.env, f.flag
		}
	})
}

func walk(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) { //nolint:errorlint // deliberately inspecting the wrapping structure.
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, fn)
		}
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), fn)
	}
}

// lookupField finds a field by exact Go path ("Common.ListenAddr") or, if
// unambiguous, by a path suffix ("ListenAddr").
func lookupField(fields []*field, name string) *field {
	var found *field
	for _, f := range fields {
		if f.path == name {
			return f
		}
		if strings.HasSuffix(f.path, "."+name) {
			if found != nil {
				return nil
			}
			found = f
		}
	}
	return found
}
