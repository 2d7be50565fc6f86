//go:build !linux

package memtrim

// releaseBinary does nothing outside Linux (the services ship for Linux).
func releaseBinary() {}
