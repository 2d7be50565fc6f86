// Package chunk splits extracted text into chunks sized in approximate
// tokens, the unit embedding models and prompts are measured in. Chunks
// follow the document's structure (docs/adr/0119): a section of a heading
// is chunked on its own (short ones merged with a neighbour), a long one
// at paragraph starts, then sentences, so an edit changes only the chunks
// of its own section.
package chunk
