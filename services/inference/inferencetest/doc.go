// Package inferencetest starts a real inference service in-process for
// tests of other packages and modules (the edge's OpenAI conformance
// tests): a throwaway PKI, mTLS on loopback, a temporary SQLite usage
// store, and a principal signer whose assertions the service accepts.
package inferencetest
