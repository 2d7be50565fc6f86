// Package logtest holds what tests need to capture the output of servers and
// child processes: a buffer that goroutines may write while the test reads.
package logtest
