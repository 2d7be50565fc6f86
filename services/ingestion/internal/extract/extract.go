package extract

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Content types the pipeline understands.
const (
	Plain    = "text/plain"
	Markdown = "text/markdown"
	HTML     = "text/html"
)

// ErrUnsupported is returned for a content type the pipeline cannot read.
var ErrUnsupported = errors.New("unsupported content type")

// ErrNotText is returned when the content is not valid UTF-8 text.
var ErrNotText = errors.New("content is not UTF-8 text")

// Normalize maps a Content-Type header value (with parameters, aliases) to
// one of Plain, Markdown or HTML; "" sniffs data.
func Normalize(contentType string, data []byte) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		contentType = http.DetectContentType(data)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrUnsupported, contentType)
	}
	switch mt {
	case Plain:
		return Plain, nil
	case Markdown, "text/x-markdown":
		return Markdown, nil
	case HTML, "application/xhtml+xml":
		return HTML, nil
	}
	return "", fmt.Errorf("%w: %q (want text/plain, text/markdown or text/html)", ErrUnsupported, mt)
}

// Text extracts plain text from data of the (normalized) content type.
// Markdown is kept as text: its markup is light and the analyzer ignores
// punctuation.
func Text(contentType string, data []byte) (string, error) {
	if !utf8.Valid(data) {
		return "", ErrNotText
	}
	switch contentType {
	case Plain, Markdown:
		return string(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), nil
	case HTML:
		return htmlText(data)
	}
	return "", fmt.Errorf("%w: %q", ErrUnsupported, contentType)
}

// skipped elements carry no readable text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Head: true, atom.Svg: true, atom.Iframe: true, atom.Object: true,
}

// block elements end a line of text.
var block = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Br: true, atom.Li: true, atom.Ul: true, atom.Ol: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Tr: true, atom.Table: true, atom.Section: true, atom.Article: true, atom.Header: true,
	atom.Footer: true, atom.Blockquote: true, atom.Pre: true, atom.Hr: true, atom.Title: true,
	atom.Dt: true, atom.Dd: true, atom.Main: true, atom.Nav: true, atom.Aside: true,
}

// htmlText walks the token stream (no DOM: linear in the input, bounded
// memory) and keeps the text outside skipped elements, one line per block.
func htmlText(data []byte) (string, error) {
	z := html.NewTokenizer(bytes.NewReader(data))
	var b strings.Builder
	depth := 0 // inside skipped elements
	title := ""
	inTitle := false
	newline := func() {
		s := b.String()
		if len(s) > 0 && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			out := strings.TrimSpace(collapse(b.String()))
			if title != "" && !strings.Contains(out, title) {
				out = strings.TrimSpace(title + "\n" + out)
			}
			return out, nil
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Title {
				inTitle = true
				continue
			}
			if skipped[a] && a != atom.Head {
				if tt := z.Token(); tt.Type == html.StartTagToken {
					depth++
				}
				continue
			}
			if block[a] {
				newline()
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Title {
				inTitle = false
				continue
			}
			if skipped[a] && a != atom.Head {
				if depth > 0 {
					depth--
				}
				continue
			}
			if block[a] {
				newline()
			}
		case html.TextToken:
			if inTitle {
				title = strings.TrimSpace(string(z.Text()))
				continue
			}
			if depth > 0 {
				continue
			}
			b.Write(z.Text())
		}
	}
}

// collapse squeezes runs of spaces and blank lines.
func collapse(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
