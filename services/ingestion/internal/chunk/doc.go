// Package chunk splits extracted text into overlapping, sentence-aligned
// windows sized in approximate tokens, the unit embedding models and
// prompts are measured in.
package chunk
