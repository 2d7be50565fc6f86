package config_test

import (
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/config"
)

type inner struct {
	Level float64 `env:"LEVEL" flag:"level" default:"0.5" usage:"a float"`
}

type sample struct {
	Addr     string        `env:"ADDR" flag:"addr" default:"127.0.0.1:7001" usage:"listen address"`
	Verbose  bool          `env:"VERBOSE" flag:"verbose" usage:"chatty"`
	Workers  int           `env:"WORKERS" flag:"workers" default:"4"`
	MaxBytes int64         `env:"MAX_BYTES" flag:"max-bytes" default:"1048576"`
	Timeout  time.Duration `env:"TIMEOUT" flag:"timeout" default:"5s"`
	Hosts    []string      `env:"HOSTS" flag:"hosts" default:"a,b"`
	Shared   string        `env:"RAMPART_SHARED,noprefix" flag:"shared"`
	EnvOnly  string        `env:"ENV_ONLY"`
	FlagOnly string        `flag:"flag-only"`
	Nested   inner
	Ignored  string
	skipped  string //nolint:unused // proves unexported untagged fields are ignored.
}

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestLoadSources(t *testing.T) {
	t.Parallel()
	defaults := sample{
		Addr: "127.0.0.1:7001", Workers: 4, MaxBytes: 1 << 20, Timeout: 5 * time.Second,
		Hosts: []string{"a", "b"}, Nested: inner{Level: 0.5},
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want func(s *sample)
	}{
		{name: "defaults only", want: func(*sample) {}},
		{
			name: "env over default",
			env: []string{
				"T_ADDR", "0.0.0.0:9", "T_VERBOSE", "true", "T_WORKERS", "8", "T_MAX_BYTES", "0x10",
				"T_TIMEOUT", "1m30s", "T_HOSTS", " x , ,y,", "RAMPART_SHARED", "s", "T_ENV_ONLY", "e", "T_LEVEL", "2.25",
			},
			want: func(s *sample) {
				s.Addr, s.Verbose, s.Workers, s.MaxBytes = "0.0.0.0:9", true, 8, 16
				s.Timeout, s.Hosts, s.Shared, s.EnvOnly = 90*time.Second, []string{"x", "y"}, "s", "e"
				s.Nested.Level = 2.25
			},
		},
		{
			name: "flag over env",
			env:  []string{"T_ADDR", "env:1", "T_WORKERS", "8", "T_VERBOSE", "true", "T_HOSTS", "e"},
			args: []string{"-addr", "flag:2", "--workers=9", "-verbose=false", "-hosts", "f,g", "-flag-only", "fo", "-level", "3", "-timeout", "250ms"},
			want: func(s *sample) {
				s.Addr, s.Workers, s.Verbose, s.Hosts, s.FlagOnly = "flag:2", 9, false, []string{"f", "g"}, "fo"
				s.Nested.Level, s.Timeout = 3, 250*time.Millisecond
			},
		},
		{
			name: "bool flag without value",
			args: []string{"-verbose"},
			want: func(s *sample) { s.Verbose = true },
		},
		{
			name: "empty env counts as unset",
			env:  []string{"T_ADDR", "", "T_WORKERS", ""},
			want: func(*sample) {},
		},
		{
			name: "unprefixed name is not read for a prefixed field",
			env:  []string{"ADDR", "nope:1", "T_SHARED", "nope"},
			want: func(*sample) {},
		},
		{
			name: "repeated flag keeps the last value",
			args: []string{"-hosts", "a", "-hosts", "b,c"},
			want: func(s *sample) { s.Hosts = []string{"b", "c"} },
		},
		{
			name: "empty list flag clears the default",
			args: []string{"-hosts="},
			want: func(s *sample) { s.Hosts = nil },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got sample
			require.NoError(t, config.LoadWith("T_", &got, tt.args, env(tt.env...)))
			want := defaults
			want.Hosts = append([]string(nil), defaults.Hosts...)
			tt.want(&want)
			require.Equal(t, want, got)
		})
	}
}

func TestLoadPresetValuesActAsDefaults(t *testing.T) {
	t.Parallel()
	s := sample{Addr: "preset:1", Workers: 0}
	require.NoError(t, config.LoadWith("T_", &s, nil, env()))
	require.Equal(t, "preset:1", s.Addr, "a preset value wins over the default tag")
	require.Equal(t, 4, s.Workers, "a zero field gets the default tag")

	s = sample{Addr: "preset:1"}
	require.NoError(t, config.LoadWith("T_", &s, nil, env("T_ADDR", "env:2")))
	require.Equal(t, "env:2", s.Addr, "env wins over a preset value")
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantErr string
	}{
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "positional argument", args: []string{"-addr", "x:1", "extra"}, wantErr: `unexpected argument "extra"`},
		{name: "bad int env", env: []string{"T_WORKERS", "many"}, wantErr: `T_WORKERS (-workers): invalid integer "many"`},
		{name: "bad bool env", env: []string{"T_VERBOSE", "yes please"}, wantErr: `T_VERBOSE (-verbose): invalid boolean "yes please"`},
		{name: "bad duration env", env: []string{"T_TIMEOUT", "5"}, wantErr: `T_TIMEOUT (-timeout): invalid duration "5"`},
		{name: "bad float env", env: []string{"T_LEVEL", "high"}, wantErr: `T_LEVEL (-level): invalid number "high"`},
		{name: "env only field", env: []string{"T_WORKERS", "1", "T_MAX_BYTES", "1e3"}, wantErr: `T_MAX_BYTES (-max-bytes): invalid integer`},
		{name: "bad int flag", args: []string{"-workers", "x"}, wantErr: `invalid value "x" for flag -workers`},
		{name: "bad duration flag", args: []string{"-timeout=forever"}, wantErr: `invalid value "forever" for flag -timeout`},
		{name: "flag with missing value", args: []string{"-addr"}, wantErr: "flag needs an argument: -addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s sample
			err := config.LoadWith("T_", &s, tt.args, env(tt.env...))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestLoadFieldErrorIsTyped(t *testing.T) {
	t.Parallel()
	var s sample
	err := config.LoadWith("T_", &s, nil, env("T_WORKERS", "x"))
	var fe *config.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "Workers", fe.Field)
	require.Equal(t, "T_WORKERS", fe.Env)
	require.Equal(t, "workers", fe.Flag)
}

func TestLoadBadDestinations(t *testing.T) {
	t.Parallel()
	type dupEnv struct {
		A string `env:"X"`
		B string `env:"X"`
	}
	type dupFlag struct {
		A string `flag:"x"`
		N struct {
			B string `flag:"x"`
		}
	}
	type unsupported struct {
		M map[string]string `env:"M"`
	}
	type badDefault struct {
		N int `env:"N" default:"ten"`
	}
	type badOption struct {
		A string `env:"A,sometimes"`
	}
	type unexported struct {
		a string `env:"A"` //nolint:unused // the point of the test.
	}
	type badFlagName struct {
		A string `flag:"-a"`
	}
	var notStruct int
	tests := []struct {
		name    string
		dst     any
		wantErr string
	}{
		{"nil", nil, "non-nil pointer to a struct"},
		{"struct value", sample{}, "non-nil pointer to a struct"},
		{"pointer to int", &notStruct, "non-nil pointer to a struct"},
		{"duplicate env", &dupEnv{}, "fields A and B both use environment variable T_X"},
		{"duplicate flag", &dupFlag{}, "fields A and N.B both use flag -x"},
		{"unsupported type", &unsupported{}, "field M: unsupported type map[string]string"},
		{"bad default", &badDefault{}, `field N: bad default "ten"`},
		{"bad env option", &badOption{}, `unknown env tag option "sometimes"`},
		{"unexported tagged", &unexported{}, "field a has config tags but is not exported"},
		{"bad flag name", &badFlagName{}, `invalid flag name "-a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorContains(t, config.LoadWith("T_", tt.dst, nil, env()), tt.wantErr)
		})
	}
}

func TestLoadHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			var s sample
			err := config.LoadWith("T_", &s, []string{arg}, env())
			require.ErrorIs(t, err, flag.ErrHelp)
			var he *config.HelpError
			require.ErrorAs(t, err, &he)
			require.Contains(t, he.Usage, "-addr string  (env T_ADDR)")
			require.Contains(t, he.Usage, `listen address (default "127.0.0.1:7001")`)
			require.Contains(t, he.Usage, "-verbose  (env T_VERBOSE)")
			require.Contains(t, he.Usage, "-timeout duration  (env T_TIMEOUT)")
			require.Contains(t, he.Usage, "T_ENV_ONLY string  (environment only)")
			require.Contains(t, he.Usage, "-shared string  (env RAMPART_SHARED)")
		})
	}
}

func TestUsageDoesNotTouchDestination(t *testing.T) {
	t.Parallel()
	s := sample{Addr: "keep:1"}
	u, err := config.Usage("T_", &s)
	require.NoError(t, err)
	require.Contains(t, u, `(default "keep:1")`)
	require.Equal(t, sample{Addr: "keep:1"}, s)
}

type validated struct {
	Port  int `env:"PORT" flag:"port" default:"80"`
	Inner struct {
		Name string `env:"NAME" flag:"name"`
	}
	finalized bool
}

func (v *validated) Finalize() error {
	v.finalized = true
	return nil
}

func (v validated) Validate() error {
	var errs []error
	if !v.finalized {
		errs = append(errs, errors.New("Finalize was not called before Validate"))
	}
	if v.Port > 65535 {
		errs = append(errs, config.Invalidf("Port", "must be at most 65535, got %d", v.Port))
	}
	if v.Inner.Name == "" {
		errs = append(errs, config.Invalidf("Inner.Name", "required"))
	}
	return errors.Join(errs...)
}

func TestLoadCallsFinalizeAndValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantErrs []string
	}{
		{name: "valid", args: []string{"-name", "n"}},
		{name: "validate names env and flag", args: []string{"-port", "70000"}, wantErrs: []string{
			"config: V_PORT (-port): must be at most 65535, got 70000",
			"V_NAME (-name): required",
		}},
		{name: "env value checked too", env: []string{"V_PORT", "99999", "V_NAME", "n"}, wantErrs: []string{
			"V_PORT (-port): must be at most 65535, got 99999",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v validated
			err := config.LoadWith("V_", &v, tt.args, env(tt.env...))
			if len(tt.wantErrs) == 0 {
				require.NoError(t, err)
				return
			}
			for _, want := range tt.wantErrs {
				require.ErrorContains(t, err, want)
			}
		})
	}
}

func TestLoadReadsProcessEnvironment(t *testing.T) {
	t.Setenv("PROC_WORKERS", "12")
	var s sample
	require.NoError(t, config.Load("PROC_", &s, []string{"-addr", "a:1"}))
	require.Equal(t, 12, s.Workers)
	require.Equal(t, "a:1", s.Addr)
}
