// Package config is the slackadapter service's typed configuration
// (RAMPART_SLACKADAPTER_* and flags; dial targets RAMPART_<SVC>_ADDR).
package config
