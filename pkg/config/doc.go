// Package config loads a service's settings from defaults, environment
// variables and command-line flags into a typed struct.
//
// Each setting is an exported struct field with tags:
//
//	type Config struct {
//		config.Common                       // shared settings, flattened
//		Timeout time.Duration `env:"TIMEOUT" flag:"timeout" default:"5s" usage:"upstream timeout"`
//		AuthAddr string `env:"RAMPART_AUTH_ADDR,noprefix" flag:"auth-addr" usage:"auth gRPC address"`
//	}
//
//	cfg := Config{Common: config.Defaults("inference")}
//	if err := config.Load(config.Prefix("inference"), &cfg, os.Args[1:]); err != nil { ... }
//
// The environment variable is prefix+env tag ("RAMPART_INFERENCE_" +
// "TIMEOUT"); the ",noprefix" option uses the name as written, for variables
// shared by every service such as RAMPART_DATA_DIR. Precedence is
// flag > environment > default tag > the value the field held before Load
// (so values set by [Defaults] act as defaults too; a default tag only fills
// a field that is still its zero value). An environment variable that is set
// but empty counts as unset.
//
// Supported field types: string, bool, every int and uint size, float32,
// float64, time.Duration, []string (comma separated, blanks trimmed, empty
// elements dropped; a flag given twice keeps the last value), and named types
// with those underlying kinds. Struct fields without tags are flattened into
// their parent: their settings keep their own tags, unchanged. Untagged
// fields of other types are ignored.
//
// Unknown flags and positional arguments are errors. -h and -help return a
// [*HelpError] whose text is the usage. After all sources are applied, Load
// calls Finalize() error (to derive dependent values) and then Validate()
// error, if dst implements them. Validate can report a bad field with
// [Invalidf]; Load then names the environment variable and flag in the
// message, e.g. "config: RAMPART_AUTH_LISTEN_ADDR (-listen-addr): ...".
//
// [Common] holds the settings every service shares (docs/conventions.md),
// with per-service defaults from [Defaults].
package config
