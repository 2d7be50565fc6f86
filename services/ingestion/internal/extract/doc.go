// Package extract turns uploaded bytes (plain text, Markdown, HTML, PDF,
// DOCX) into the plain text the pipeline chunks, with its heading structure,
// title and modification date. It never executes or fetches anything; the
// binary formats are hostile input and are parsed within fixed limits of
// size, nesting and time (pdf.go, docx.go).
package extract
