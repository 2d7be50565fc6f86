// Package extract turns uploaded bytes (plain text, Markdown, HTML) into the
// plain text the pipeline chunks. It never executes or fetches anything.
package extract
