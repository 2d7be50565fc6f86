module github.com/rampart-platform/rampart/tests/e2e

go 1.26.0

replace (
	github.com/rampart-platform/rampart/gen => ../../gen
	github.com/rampart-platform/rampart/pkg => ../../pkg
)
