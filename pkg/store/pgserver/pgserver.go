package pgserver

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// Account is the account PostgreSQL's binaries run as.
type Account struct {
	// Name is the account's user name (for messages).
	Name string
	// Credential is what exec.Cmd's SysProcAttr.Credential takes.
	Credential *syscall.Credential
}

// Unprivileged returns nil when the caller is not root: the servers then
// run as the caller. As root it returns the postgres account, else nobody;
// the caller still has to make the data dir reachable for it.
func Unprivileged() (*Account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if u == nil {
		return nil, fmt.Errorf("running as root, and neither a postgres nor a nobody account exists to run PostgreSQL as "+
			"(initdb and postgres refuse to run as root): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", u.Username, u.Gid, err)
	}
	return &Account{Name: u.Username, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}, nil
}

// Env is the caller's environment without PG* variables, with a fixed
// locale and time zone (initdb's defaults follow them).
func Env() []string {
	env := []string{"LC_ALL=C", "TZ=UTC"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PG") || k == "LC_ALL" || k == "TZ" {
			continue
		}
		env = append(env, kv)
	}
	return env
}
