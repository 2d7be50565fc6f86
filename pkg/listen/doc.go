// Package listen opens a service's TCP listeners, either by binding an
// address or by adopting a socket its parent already bound and passed down
// as an inherited file descriptor ("fd:3").
//
// Inheriting matters for supervisors such as `rampart dev`: when the parent
// binds every port itself and hands the sockets over, no other process can
// take a port between "found free" and "bound by the child", so several
// stacks (or test suites) can start side by side on one machine.
package listen
