package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// field is one loadable setting: a settable leaf of the config struct.
type field struct {
	path   string // Go path, e.g. "Common.ListenAddr"
	env    string // full environment variable name, "" if none
	flag   string // flag name without the dash, "" if none
	def    string
	hasDef bool
	usage  string
	shown  string // default shown in the usage text
	v      reflect.Value
}

func (f *field) fieldError(err error) *FieldError {
	return &FieldError{Field: f.path, Env: f.env, Flag: f.flag, Err: err}
}

var durationType = reflect.TypeFor[time.Duration]()

// collect walks dst and returns its settings in declaration order.
func collect(prefix string, dst any) ([]*field, error) {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("config: destination must be a non-nil pointer to a struct, got %T", dst)
	}
	c := collector{prefix: prefix, envs: map[string]string{}, flags: map[string]string{}}
	if err := c.walk(rv.Elem(), ""); err != nil {
		return nil, err
	}
	return c.fields, nil
}

type collector struct {
	prefix string
	fields []*field
	envs   map[string]string // env name -> field path
	flags  map[string]string // flag name -> field path
}

func (c *collector) walk(v reflect.Value, parent string) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		fv := v.Field(i)
		path := sf.Name
		if parent != "" {
			path = parent + "." + sf.Name
		}
		envTag, hasEnv := sf.Tag.Lookup("env")
		flagTag, hasFlag := sf.Tag.Lookup("flag")
		tagged := (hasEnv && envTag != "-") || (hasFlag && flagTag != "-")
		if !tagged {
			if sf.Type.Kind() == reflect.Struct && sf.Type != durationType && (sf.IsExported() || sf.Anonymous) {
				if err := c.walk(fv, path); err != nil {
					return err
				}
			}
			continue
		}
		if !sf.IsExported() || !fv.CanSet() {
			return fmt.Errorf("config: field %s has config tags but is not exported", path)
		}
		if !supported(sf.Type) {
			return fmt.Errorf("config: field %s: unsupported type %s", path, sf.Type)
		}
		f := &field{path: path, usage: sf.Tag.Get("usage"), v: fv}
		f.def, f.hasDef = sf.Tag.Lookup("default")
		if hasEnv && envTag != "-" {
			name, err := c.envName(envTag)
			if err != nil {
				return fmt.Errorf("config: field %s: %w", path, err)
			}
			if other, dup := c.envs[name]; dup {
				return fmt.Errorf("config: fields %s and %s both use environment variable %s", other, path, name)
			}
			c.envs[name] = path
			f.env = name
		}
		if hasFlag && flagTag != "-" {
			if flagTag == "" || strings.HasPrefix(flagTag, "-") || strings.ContainsAny(flagTag, "= \t") {
				return fmt.Errorf("config: field %s: invalid flag name %q", path, flagTag)
			}
			if other, dup := c.flags[flagTag]; dup {
				return fmt.Errorf("config: fields %s and %s both use flag -%s", other, path, flagTag)
			}
			c.flags[flagTag] = path
			f.flag = flagTag
		}
		c.fields = append(c.fields, f)
	}
	return nil
}

func (c *collector) envName(tag string) (string, error) {
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		return "", fmt.Errorf("empty env tag %q", tag)
	}
	prefixed := true
	for o := range strings.SplitSeq(opts, ",") {
		switch o {
		case "":
		case "noprefix":
			prefixed = false
		default:
			return "", fmt.Errorf("unknown env tag option %q", o)
		}
	}
	if prefixed {
		name = c.prefix + name
	}
	return name, nil
}

func supported(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	default:
		return false
	}
}

// setValue parses s into v according to v's type.
func setValue(v reflect.Value, s string) error {
	t := v.Type()
	if t == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid duration %q (use e.g. 300ms, 5s, 1h30m)", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid boolean %q (use true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, t.Bits())
		if err != nil {
			return fmt.Errorf("invalid integer %q (%d-bit)", s, t.Bits())
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 0, t.Bits())
		if err != nil {
			return fmt.Errorf("invalid unsigned integer %q (%d-bit)", s, t.Bits())
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(s), t.Bits())
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		v.SetFloat(x)
	case reflect.Slice:
		var parts []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		if len(parts) == 0 {
			v.Set(reflect.Zero(t))
			return nil
		}
		sl := reflect.MakeSlice(t, len(parts), len(parts))
		for i, p := range parts {
			sl.Index(i).SetString(p)
		}
		v.Set(sl)
	default:
		return fmt.Errorf("unsupported type %s", t)
	}
	return nil
}

// formatValue renders v the way setValue reads it.
func formatValue(v reflect.Value) string {
	t := v.Type()
	if t == durationType {
		if v.Int() == 0 {
			return ""
		}
		return time.Duration(v.Int()).String()
	}
	switch t.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, t.Bits())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = v.Index(i).String()
		}
		return strings.Join(parts, ",")
	default:
		return ""
	}
}

func typeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	switch t.Kind() {
	case reflect.Bool:
		return ""
	case reflect.Slice:
		return "list"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	default:
		return "string"
	}
}
