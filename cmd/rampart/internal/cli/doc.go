// Package cli wires the rampart command tree (cobra): pki, dev, and the
// admin verbs that talk to the edge's REST API with the key from dev.env.
package cli
