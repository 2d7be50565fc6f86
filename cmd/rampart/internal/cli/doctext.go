package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/restclient"
)

// `rampart doc text` and `rampart doc reindex` (docs/adr/0094): the text
// citation locations index, and the backfill of documents ingested before
// it was stored.

// docText is one GetDocumentText answer.
type docText struct {
	Text   string `json:"text"`
	Start  int    `json:"start"`
	End    int    `json:"end"`
	Length int    `json:"length"`
}

func newDocTextCmd(f *apiFlags) *cobra.Command {
	var start, end int
	cmd := &cobra.Command{
		Use:   "text DOCUMENT_ID",
		Short: "Print a document's extracted text, the text citation locations (chars N–M) index",
		Long: "Print the document's extracted text (GET /v1/documents/{id}/text): the file itself for text and Markdown,\n" +
			"the text extracted from HTML, PDF and DOCX. --start and --end select characters [start, end), as a\n" +
			"citation's location counts them; long texts are fetched in parts.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if start < 0 || (end >= 0 && end < start) {
				return errors.New("--start must be >= 0 and --end (if given) not before it")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := printDocText(cmd, c, args[0], start, end); err != nil {
				return err
			}
			// The text is printed exactly (a pipe gets the characters asked
			// for); on a terminal a final newline keeps the prompt off it.
			if isTerminal(cmd.OutOrStdout()) {
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&start, "start", 0, "first character")
	cmd.Flags().IntVar(&end, "end", -1, "character after the last one (default: the end of the text)")
	return cmd
}

// printDocText writes [start, end) of a document's text to stdout, asking
// again where an answer stopped at the service's bound.
func printDocText(cmd *cobra.Command, c *restclient.Client, id string, start, end int) error {
	for {
		q := url.Values{"start": {strconv.Itoa(start)}}
		if end >= 0 {
			q.Set("end", strconv.Itoa(end))
		}
		out, err := c.Do(cmd.Context(), http.MethodGet, "/v1/documents/"+esc(id)+"/text", q, nil)
		if err != nil {
			return err
		}
		var t docText
		if err := json.Unmarshal(out, &t); err != nil {
			return fmt.Errorf("unexpected answer: %w", err)
		}
		if _, err := io.WriteString(cmd.OutOrStdout(), t.Text); err != nil {
			return err
		}
		want := end
		if want < 0 || want > t.Length {
			want = t.Length
		}
		if t.End >= want || t.End <= start {
			return nil
		}
		start = t.End
	}
}

// listedDoc is a document as ListDocuments shows it.
type listedDoc struct {
	ID            string `json:"id"`
	Source        string `json:"source"`
	ContentType   string `json:"content_type"`
	SizeBytes     string `json:"size_bytes"` // int64: a string in proto JSON
	State         string `json:"state"`
	TextAvailable bool   `json:"text_available"`
}

func newDocReindexCmd(f *apiFlags) *cobra.Command {
	var o docAdd
	cmd := &cobra.Command{
		Use:   "reindex [DIR]",
		Short: "Re-chunk the documents of a collection ingested before their text was stored, so their citations carry locations",
		Long: "For each ready document of the collection without a stored text (ingested before ADR 0094, whose citations\n" +
			"may lack locations), add its content again: the file of the same source name under DIR (searched\n" +
			"recursively), or its URL fetched again. Ingestion re-chunks the same document; its chunks stay\n" +
			"searchable until the new ones are committed. Documents it cannot reach are listed. Running it again is harmless.",
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.collection == "" {
				return errNeedCollection
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			files := map[string][]string{}
			if len(args) == 1 {
				if files, err = filesByName(args[0]); err != nil {
					return err
				}
			}
			return o.reindex(cmd, c, files)
		},
	}
	cmd.Flags().StringVarP(&o.collection, "collection", "c", "", "collection (required)")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "wait for each job, showing its progress")
	return cmd
}

// reindex adds again the content of each document of the collection that
// has no stored text, from files (base name → paths) or its URL.
func (o docAdd) reindex(cmd *cobra.Command, c *restclient.Client, files map[string][]string) error {
	out, err := c.Do(cmd.Context(), http.MethodGet, "/v1/collections/"+esc(o.collection)+"/documents", nil, nil)
	if err != nil {
		return err
	}
	var res struct {
		Documents []listedDoc `json:"documents"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	var queued int
	var missing, failed []string
	for _, d := range res.Documents {
		if d.TextAvailable || d.State != "DOCUMENT_STATE_READY" {
			continue
		}
		arg, ok := reindexArg(d, files)
		if !ok {
			missing = append(missing, d.Source+" ("+d.ID+")")
			continue
		}
		source, ctype := d.Source, d.ContentType
		if arg == d.Source { // a URL: fetched as it was first, identified by it
			source, ctype = "", ""
		}
		body, err := docBody(cmd.InOrStdin(), arg, source, ctype)
		if err == nil {
			var job docJob
			job, err = o.add(cmd, c, arg, body)
			if err == nil && o.wait && job.State != "JOB_STATE_SUCCEEDED" {
				err = errors.New(job.Error)
			}
		}
		if err != nil {
			failed = append(failed, d.Source+": "+err.Error())
			continue
		}
		queued++
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%d document(s) re-chunked\n", queued)
	if len(missing) > 0 {
		fmt.Fprintf(w, "%d document(s) need their file, of the same name and size (give the directory holding them, or add them again with rampart doc add): %s\n",
			len(missing), strings.Join(missing, ", "))
	}
	if len(failed) > 0 {
		return fmt.Errorf("reindex failed for %s", strings.Join(failed, "; "))
	}
	return nil
}

// reindexArg is what to add again for d: its URL, or a file of its
// source name and size. The size guards against another file of the same
// name (README.md), which would be a new version replacing the document;
// content of the same size but changed would be too, like any doc add.
func reindexArg(d listedDoc, files map[string][]string) (string, bool) {
	if u, err := url.Parse(d.Source); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return d.Source, true
	}
	if d.Source == "" || d.Source == unnamedUpload {
		return "", false
	}
	size, err := strconv.ParseInt(d.SizeBytes, 10, 64)
	if err != nil {
		return "", false
	}
	for _, p := range files[d.Source] {
		if fi, err := os.Stat(p); err == nil && fi.Size() == size {
			return p, true
		}
	}
	return "", false
}

// filesByName maps the base names of the regular files under dir to their
// paths.
func filesByName(dir string) (map[string][]string, error) {
	files := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			files[e.Name()] = append(files[e.Name()], p)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such directory", dir)
	}
	return files, err
}
