// Package devenv is what every end-to-end harness (the e2e suites, chaos,
// bench-stack, bench-ha) needs around a `rampart dev` child: an environment
// without the developer's RAMPART_* settings, the dev.env file the stack
// writes once it is up, and (the bench harnesses) building the binaries and
// starting and stopping the processes they run.
package devenv
