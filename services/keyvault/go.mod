module github.com/rampart-platform/rampart/services/keyvault

go 1.26.0

replace (
	github.com/rampart-platform/rampart/gen => ../../gen
	github.com/rampart-platform/rampart/pkg => ../../pkg
)
