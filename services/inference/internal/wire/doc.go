// Package wire is the OpenAI JSON wire format of chat completions and
// embeddings: the request types, their strict parsing (unknown parameters
// are refused by name; parameters documented as ignored are listed in
// ignored.go), validation that names the offending parameter, and the
// response and stream-chunk types inference encodes.
//
// Inference owns this format so the edge forwards request bodies as bytes
// (docs/adr/0007-inference-wire-format.md).
package wire
