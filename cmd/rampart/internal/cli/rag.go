package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/restclient"
)

// Verbs over the documents and retrieval API: collections, documents,
// search, grounded chat and assistants (issue 12). They use the REST API
// with the key from RAMPART_API_KEY / RAMPART_ADMIN_KEY like the admin verbs.

func newCollectionCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "collection", Short: "Manage document collections of your tenant"}
	var desc, model string
	create := verb(f, "create NAME", "Create a collection", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
		body := map[string]any{"name": a[0], "description": desc}
		if model != "" {
			body["embedding_model"] = model
		}
		return http.MethodPost, "/v1/collections", nil, body, nil
	})
	create.Flags().StringVar(&desc, "description", "", "free-form description")
	create.Flags().StringVar(&model, "embedding-model", "", "embedding model of inference's registry (default rampart-hash-embed)")
	setModel := verb(f, "set-model NAME MODEL", "Change a collection's embedding model (queues a re-embed job: GET /v1/ingest/jobs/{id} shows its progress)", 2,
		func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodPatch, "/v1/collections/" + esc(a[0]), nil, map[string]any{"embedding_model": a[1]}, nil
		})
	cmd.AddCommand(create, setModel,
		verb(f, "list", "List collections", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/collections", nil, nil, nil
		}),
		verb(f, "delete NAME", "Delete a collection with its documents", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodDelete, "/v1/collections/" + esc(a[0]), nil, nil, nil
		}))
	return cmd
}

// contentTypes maps file extensions to the types ingestion accepts; other
// files are sent without a type and ingestion sniffs them.
var contentTypes = map[string]string{
	".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain", ".html": "text/html", ".htm": "text/html",
	".pdf": "application/pdf", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

// maxUpload is ingestion's limit on one document.
const maxUpload = 10 << 20

type docJob struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	State       string `json:"state"`
	ChunksDone  int    `json:"chunks_done"`
	ChunksTotal int    `json:"chunks_total"`
	Error       string `json:"error"`
	// Retrying: this run failed and the job runs again (not ended).
	Retrying bool `json:"retrying"`
	// crawl jobs
	PagesDone        int    `json:"pages_done"`
	PagesMax         int    `json:"pages_max"`
	DocumentsPending int    `json:"documents_pending"`
	DocumentsFailed  int    `json:"documents_failed"`
	Detail           string `json:"detail"`
}

func (j docJob) ended() bool {
	return j.State == "JOB_STATE_SUCCEEDED" || (j.State == "JOB_STATE_FAILED" && !j.Retrying)
}

// errNeedCollection is the refusal of a document verb without -c: it says
// the short form and where the names are, since a newcomer often passes the
// collection as an argument (`rampart doc add handbook README.md`).
var errNeedCollection = errors.New("--collection is required: -c NAME (rampart collection list shows your collections)")

func newDocCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "doc", Short: "Add, list, read and delete documents of a collection"}
	var listCollection string
	list := verb(f, "list", "List the documents of a collection", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
		if listCollection == "" {
			return "", "", nil, nil, errNeedCollection
		}
		return http.MethodGet, "/v1/collections/" + esc(listCollection) + "/documents", nil, nil, nil
	})
	list.Flags().StringVarP(&listCollection, "collection", "c", "", "collection (required)")
	cmd.AddCommand(newDocAddCmd(f), list, newCrawlCmd(f), newDocTextCmd(f), newDocReindexCmd(f),
		verb(f, "delete DOCUMENT_ID", "Delete a document and its chunks", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodDelete, "/v1/documents/" + esc(a[0]), nil, nil, nil
		}))
	return cmd
}

// docAdd is `rampart doc add`'s flags.
type docAdd struct {
	collection, source, ctype string
	wait                      bool
}

func newDocAddCmd(f *apiFlags) *cobra.Command {
	var o docAdd
	add := &cobra.Command{
		Use:   "add FILE|URL|- ...",
		Short: "Ingest files, URLs or standard input (-) into a collection",
		Long: "Ingest each argument: a file path, an http(s) URL (fetched by ingestion) or - for standard input.\n" +
			"With --wait, follow each job's progress stream (GET /v1/ingest/jobs/{id}:watch) until it ends; the command fails if a job fails.",
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.collection == "" {
				return errNeedCollection
			}
			if o.source != "" && len(args) > 1 {
				// a source is a document's identity: the arguments would
				// replace each other
				return errors.New("--source names one document: give one FILE|URL|- with it")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var failed []string
			for _, arg := range args {
				body, err := docBody(cmd.InOrStdin(), arg, o.source, o.ctype)
				if err != nil {
					return err
				}
				if arg == "-" && o.source == "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: standard input without --source is cited as %q; --source NAME names it\n", unnamedUpload)
				}
				job, err := o.add(cmd, c, arg, body)
				if err != nil {
					return fmt.Errorf("%s: %w", arg, withPrivateTargetHint(err))
				}
				if o.wait && job.State != "JOB_STATE_SUCCEEDED" {
					failed = append(failed, arg+": "+job.Error)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("ingestion failed: %s", strings.Join(failed, "; "))
			}
			return nil
		},
	}
	add.Flags().StringVarP(&o.collection, "collection", "c", "", "collection to add to (required)")
	add.Flags().StringVar(&o.source, "source", "", "source shown in citations and the document's identity in the collection: the same source again replaces the document (default: the file name or URL; stdin: none, shown as \"upload\")")
	add.Flags().StringVar(&o.ctype, "type", "", "content type: text/plain, text/markdown, text/html, application/pdf or the DOCX type (default: from the extension, else sniffed)")
	add.Flags().BoolVar(&o.wait, "wait", false, "wait for each job, showing its progress")
	return add
}

// add ingests one argument and prints its document and job; with --wait
// it follows the job and returns it as it ended.
func (o docAdd) add(cmd *cobra.Command, c *restclient.Client, arg string, body any) (docJob, error) {
	out, err := c.Do(cmd.Context(), http.MethodPost, "/v1/collections/"+esc(o.collection)+"/documents", nil, body)
	if err != nil {
		return docJob{}, err
	}
	var res struct {
		Document struct {
			ID     string `json:"id"`
			Source string `json:"source"`
		} `json:"document"`
		Job          docJob `json:"job"`
		Deduplicated bool   `json:"deduplicated"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return docJob{}, fmt.Errorf("unexpected answer: %w", err)
	}
	note := ""
	switch {
	case res.Deduplicated && o.source != "" && res.Document.Source != o.source:
		// Dedup is by content: --source does not rename the earlier copy.
		note = fmt.Sprintf(" (already ingested as %q: same content; its source is unchanged)", res.Document.Source)
	case res.Deduplicated:
		note = " (already ingested)"
	case res.Job.Kind == "JOB_KIND_REINDEX":
		note = " (ingested before its text was stored: re-chunked to locate its citations)"
	}
	label := docLabel(arg, o.source, res.Document.Source)
	fmt.Fprintf(cmd.OutOrStdout(), "%s  document %s  job %s%s\n", label, res.Document.ID, res.Job.ID, note)
	if !o.wait {
		return res.Job, nil
	}
	p := newProgress(cmd.ErrOrStderr(), label)
	job, err := waitJob(cmd.Context(), c, res.Job, p.update)
	p.done(job, err)
	return job, err
}

// docLabel names an argument in the add and progress lines as citations
// will: the source ingestion recorded (it answers with it; "upload" for
// unnamed content such as standard input, a URL without its query), else
// --source, else what the CLI sent as the source.
func docLabel(arg, source, recorded string) string {
	switch {
	case recorded != "":
		return recorded
	case source != "":
		return source
	case arg == "-":
		return unnamedUpload
	case strings.Contains(arg, "://"):
		return arg
	}
	return filepath.Base(arg)
}

// withPrivateTargetHint adds to ingestion's refusal of a loopback or
// private URL (its SSRF guard) the setting that allows them in the dev
// stack, which the refusal itself does not name.
func withPrivateTargetHint(err error) error {
	var apiErr *restclient.APIError
	if !errors.As(err, &apiErr) || apiErr.Param != "url" || !strings.Contains(apiErr.Message, "target is not allowed") ||
		(!strings.Contains(apiErr.Message, "loopback") && !strings.Contains(apiErr.Message, "private")) {
		return err
	}
	return fmt.Errorf("%w\nhint: ingestion's SSRF guard refuses loopback and private addresses; to fetch from your own "+
		"machine in the dev stack, start it with RAMPART_INGESTION_FETCH_ALLOW_PRIVATE=true", err)
}

// unnamedUpload is the source ingestion records for content sent without
// one (services/ingestion/internal/ingest): what citations show.
const unnamedUpload = "upload"

// docBody is the IngestDocument body for one argument.
func docBody(stdin io.Reader, arg, source, ctype string) (map[string]any, error) {
	if u, err := url.Parse(arg); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		body := map[string]any{"url": arg}
		if source != "" {
			body["source"] = source
		}
		return body, nil
	}
	var data []byte
	var err error
	// The source is the document's identity in the collection: the same
	// file name again is a new version of that document. Standard input
	// has no name, so it is an unnamed upload (only deduplicated by
	// content) unless --source names it.
	name := filepath.Base(arg)
	if arg == "-" {
		name = ""
		data, err = io.ReadAll(io.LimitReader(stdin, maxUpload+1))
	} else {
		var fh *os.File
		if fh, err = os.Open(arg); err == nil { //nolint:gosec // the operator names the file to upload
			data, err = io.ReadAll(io.LimitReader(fh, maxUpload+1))
			_ = fh.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	if len(data) > maxUpload {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most ingestion accepts", arg, maxUpload>>20)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty", arg)
	}
	if ctype == "" {
		ctype = contentTypes[strings.ToLower(filepath.Ext(arg))]
	}
	if source == "" {
		source = name
	}
	body := map[string]any{"content": data}
	if source != "" {
		body["source"] = source
	}
	if ctype != "" {
		body["content_type"] = ctype
	}
	return body, nil
}

func newCrawlCmd(f *apiFlags) *cobra.Command {
	var collection string
	var depth, pages int
	var wait bool
	cmd := &cobra.Command{
		Use:   "crawl URL",
		Short: "Crawl a site (same scheme and host, robots.txt honoured) into a collection, one document per page",
		Long: "Queue a crawl job: ingestion fetches URL and the pages it links to on the same scheme and host, breadth first,\n" +
			"within --depth links and --max-pages pages (0: the service's defaults, 2 and 50), and ingests each page.\n" +
			"With --wait, follow the job's progress stream until every page is ingested; the command fails if the crawl\n" +
			"or a page fails.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if collection == "" {
				return errNeedCollection
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			body := map[string]any{"url": args[0]}
			if depth != 0 {
				body["max_depth"] = depth
			}
			if pages != 0 {
				body["max_pages"] = pages
			}
			out, err := c.Do(cmd.Context(), http.MethodPost, "/v1/collections/"+esc(collection)+"/documents:crawl", nil, body)
			if err != nil {
				return withPrivateTargetHint(err)
			}
			var res struct {
				Job docJob `json:"job"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				return fmt.Errorf("unexpected answer: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "crawl %s  job %s\n", args[0], res.Job.ID)
			if !wait {
				return nil
			}
			p := newProgress(cmd.ErrOrStderr(), "crawl")
			job, err := waitJob(cmd.Context(), c, res.Job, p.update)
			p.done(job, err)
			if err != nil {
				return err
			}
			if job.Detail != "" {
				fmt.Fprintln(cmd.OutOrStdout(), job.Detail)
			}
			switch {
			case job.State != "JOB_STATE_SUCCEEDED":
				// ingestion's reasons start "crawl: " already.
				return fmt.Errorf("crawl failed: %s", strings.TrimPrefix(job.Error, "crawl: "))
			case job.DocumentsFailed > 0:
				return fmt.Errorf("crawl done, but %d page(s) failed to ingest: rampart doc list / GET /v1/ingest/jobs?collection=%s shows why", job.DocumentsFailed, collection)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&collection, "collection", "c", "", "collection to add the pages to (required)")
	cmd.Flags().IntVar(&depth, "depth", 0, "links to follow away from the start page (1-5; 0: the default, 2)")
	cmd.Flags().IntVar(&pages, "max-pages", 0, "pages to fetch, robots.txt not counted (0: 50; at most the service's limit, RAMPART_INGESTION_CRAWL_MAX_PAGES, 200 unless set)")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the crawl until every page is ingested, showing its progress")
	return cmd
}

// waitJob follows the job's progress stream (WatchJob) until it succeeds
// or fails, reporting each change. A stream that ends before the job does
// (the edge's stream deadline, a restart) is opened again.
func waitJob(ctx context.Context, c *restclient.Client, job docJob, report func(docJob)) (docJob, error) {
	last := job
	report(job)
	for attempt := 0; !last.ended(); attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return last, ctx.Err()
			case <-time.After(time.Second):
			}
		}
		err := c.StreamJSON(ctx, "/v1/ingest/jobs/"+esc(job.ID)+":watch", func(raw json.RawMessage) error {
			var res struct {
				Job docJob `json:"job"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("unexpected job update: %w", err)
			}
			if res.Job != last {
				report(res.Job)
				last = res.Job
			}
			return nil
		})
		if err != nil {
			return last, err
		}
		if attempt >= 100 {
			return last, errors.New("the job's progress stream keeps ending before the job")
		}
	}
	return last, nil
}

func newSearchCmd(f *apiFlags) *cobra.Command {
	var collection string
	var topK int
	var raw bool
	cmd := &cobra.Command{
		Use:   "search QUERY...",
		Short: "Search a collection (hybrid BM25 + vectors) and print the passages",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if collection == "" {
				return errNeedCollection
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			out, err := c.Do(cmd.Context(), http.MethodPost, "/v1/search", nil,
				map[string]any{"collection": collection, "query": strings.Join(args, " "), "top_k": topK})
			if err != nil {
				return err
			}
			if raw {
				_, err = cmd.OutOrStdout().Write(append(out, '\n'))
				return err
			}
			var res struct {
				Passages []struct {
					Text    string  `json:"text"`
					Source  string  `json:"source"`
					ChunkID string  `json:"chunk_id"`
					Score   float64 `json:"score"`
				} `json:"passages"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				return err
			}
			if len(res.Passages) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no passages")
			}
			for i, p := range res.Passages {
				fmt.Fprintf(cmd.OutOrStdout(), "[%d] %s  (%s, score %.4f)\n    %s\n", i+1, p.Source, p.ChunkID, p.Score, p.Text)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&collection, "collection", "c", "", "collection to search (required)")
	cmd.Flags().IntVarP(&topK, "top-k", "k", 5, "passages to return (1-50)")
	cmd.Flags().BoolVar(&raw, "json", false, "print the JSON answer")
	return cmd
}

type chatMsg struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type citation struct {
	Index      int    `json:"index"`
	DocumentID string `json:"document_id"`
	Source     string `json:"source"`
	Title      string `json:"title"`
	URL        string `json:"url"`
	Quote      string `json:"quote"`
	// Passages are the document's cited passages (docs/adr/0079), each
	// with where it is (docs/adr/0085).
	Passages []citedPassage `json:"passages"`
}

type citedPassage struct {
	Quote    string    `json:"quote"`
	Location *location `json:"location"`
}

// location is where a cited passage is in its document: characters
// [Start, End) of its extracted text, lines of a text file, pages of a
// PDF (0: none).
type location struct {
	Start   int `json:"start"`
	End     int `json:"end"`
	Line    int `json:"line"`
	LineEnd int `json:"line_end"`
	Page    int `json:"page"`
	PageEnd int `json:"page_end"`
}

// String is the location for a reader: the page of a PDF, the lines of a
// text file, else the character offsets of the extracted text.
func (l location) String() string {
	span := func(one, many string, a, b int) string {
		if b <= a {
			return one + strconv.Itoa(a)
		}
		return many + strconv.Itoa(a) + "–" + strconv.Itoa(b)
	}
	switch {
	case l.Page > 0:
		return span("p. ", "pp. ", l.Page, l.PageEnd)
	case l.Line > 0:
		return span("line ", "lines ", l.Line, l.LineEnd)
	}
	return "chars " + strconv.Itoa(l.Start) + "–" + strconv.Itoa(l.End)
}

func newChatCmd(f *apiFlags) *cobra.Command {
	var assistant, model string
	var collections []string
	var topK int
	cmd := &cobra.Command{
		Use:   "chat [MESSAGE...]",
		Short: "Chat grounded in your documents (an assistant or collections); streams the answer",
		Long: "With MESSAGE, ask once; without, read questions line by line from standard input\n" +
			"(the conversation is kept, so follow-up questions work). Sources are listed after each answer.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if assistant != "" && (len(collections) > 0 || cmd.Flags().Changed("model")) {
				return errors.New("use --assistant or --collection/--model, not both")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			if assistant != "" {
				model = assistant
			} else if len(collections) == 0 {
				// Allowed (a plain model chat), but not what "chat grounded
				// in your documents" suggests: say so rather than quote the
				// question back as its own source.
				fmt.Fprintf(cmd.ErrOrStderr(), "note: no --collection or --assistant: %s answers without your documents\n", model)
			}
			var history []chatMsg
			ask := func(q string) error {
				history = append(history, chatMsg{Role: "user", Content: q})
				body := map[string]any{"model": model, "messages": history, "stream": true}
				if len(collections) > 0 {
					ext := map[string]any{"collections": collections}
					if topK > 0 {
						ext["top_k"] = topK
					}
					body["rampart"] = ext
				}
				answer, cites, warning, err := streamAnswer(cmd.Context(), c, body, cmd.OutOrStdout())
				if err != nil {
					history = history[:len(history)-1]
					return err
				}
				history = append(history, chatMsg{Role: "assistant", Content: answer})
				printSources(cmd.OutOrStdout(), cites)
				if warning != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", warning)
				}
				return nil
			}
			if len(args) > 0 {
				return ask(strings.Join(args, " "))
			}
			return chatLoop(cmd, ask)
		},
	}
	cmd.Flags().StringVarP(&assistant, "assistant", "a", "", "assistant to chat with (its model, collections and prompt)")
	cmd.Flags().StringSliceVarP(&collections, "collection", "c", nil, "collection(s) to retrieve from (repeatable)")
	cmd.Flags().StringVarP(&model, "model", "m", "rampart-extractive", "model, with --collection")
	cmd.Flags().IntVarP(&topK, "top-k", "k", 0, "passages per answer (1-50; default: the server's)")
	return cmd
}

// chatLoop asks each line of stdin in turn, an error printed and the
// conversation going on, until stdin ends.
func chatLoop(cmd *cobra.Command, ask func(string) error) error {
	sc := bufio.NewScanner(cmd.InOrStdin())
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	// The "> " prompt only for a person typing: questions piped in
	// (a file, a script) would leave a row of prompts on stderr.
	prompt := isTerminal(cmd.InOrStdin())
	for {
		if prompt {
			fmt.Fprint(cmd.ErrOrStderr(), "> ")
		}
		if !sc.Scan() {
			if prompt {
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			return sc.Err()
		}
		q := strings.TrimSpace(sc.Text())
		if q == "" {
			continue
		}
		if err := ask(q); err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "error:", err)
		}
	}
}

// streamAnswer streams one completion to w and returns its text, the
// final chunk's citations and warning. A closing "Sources:" line in the
// text is not shown when there are citations: printSources lists them.
func streamAnswer(ctx context.Context, c *restclient.Client, body map[string]any, w io.Writer) (string, []citation, string, error) {
	var text strings.Builder
	out := &sourcesHolder{w: w}
	var cites []citation
	var warning string
	err := c.Stream(ctx, "/v1/chat/completions", body, func(data []byte) error {
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Rampart *struct {
				Citations []citation `json:"citations"`
				Warning   string     `json:"warning"`
			} `json:"rampart"`
		}
		if err := json.Unmarshal(data, &chunk); err != nil {
			return fmt.Errorf("bad stream chunk: %w", err)
		}
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			text.WriteString(chunk.Choices[0].Delta.Content)
			if err := out.write(chunk.Choices[0].Delta.Content); err != nil {
				return err
			}
		}
		if chunk.Rampart != nil {
			cites, warning = chunk.Rampart.Citations, chunk.Rampart.Warning
		}
		return nil
	})
	if ferr := out.finish(len(cites) > 0); err == nil {
		err = ferr
	}
	// End the answer's line; a request refused before any text (unknown
	// collection or model) leaves stdout empty, only the error on stderr.
	if err == nil || text.Len() > 0 {
		fmt.Fprintln(w)
	}
	return text.String(), cites, warning, err
}

func printSources(w io.Writer, cites []citation) {
	if len(cites) == 0 {
		return
	}
	// One line per document, "[1][3] title — source <url>", as in Slack:
	// passages of one document cited several times are listed once. Under
	// it, each cited passage: where it is and its quote.
	var order []string
	marks := map[string]string{}
	quotes := map[string][]citedPassage{}
	docs := map[string]string{} // where → document id
	for _, c := range cites {
		where := c.Source
		if c.Title != "" && c.Title != c.Source {
			where = c.Title + " — " + where
		}
		if c.URL != "" && c.URL != c.Source {
			where += " <" + c.URL + ">"
		}
		if _, ok := marks[where]; !ok {
			order = append(order, where)
		}
		marks[where] += "[" + strconv.Itoa(c.Index) + "]"
		docs[where] = c.DocumentID
		ps := c.Passages
		if len(ps) == 0 && c.Quote != "" { // a server from before docs/adr/0079
			ps = []citedPassage{{Quote: c.Quote}}
		}
		quotes[where] = append(quotes[where], ps...)
	}
	fmt.Fprintln(w, "Sources:")
	hint := false
	for _, where := range order {
		header := where
		// A passage placed by characters or pages is not where an editor
		// opening the file would look: name the document, whose extracted
		// text `rampart doc text` shows (docs/adr/0094).
		if id := docs[where]; id != "" && slices.ContainsFunc(quotes[where], notByLine) {
			header += " · " + id
			hint = true
		}
		fmt.Fprintf(w, "  %s %s\n", marks[where], header)
		for _, p := range quotes[where] {
			at := ""
			if l := p.Location; l != nil {
				at = l.String() + ": "
				if l.Page > 0 { // the characters doc text takes, too
					at = l.String() + ", " + location{Start: l.Start, End: l.End}.String() + ": "
				}
			}
			fmt.Fprintf(w, "      %s%q\n", at, p.Quote)
		}
	}
	if hint {
		fmt.Fprintln(w, "  (rampart doc text DOCUMENT_ID --start N --end M shows a passage's chars N–M in context)")
	}
}

// notByLine: a passage located in the extracted text, not by lines of the
// file (HTML, PDF, DOCX).
func notByLine(p citedPassage) bool { return p.Location != nil && p.Location.Line == 0 }

func newAssistantCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "assistant", Short: "Manage assistants: model names bound to a model, collections and a prompt (admin)"}
	var model, prompt, promptFile, desc string
	var collections []string
	var topK int32
	var minScore float64
	create := verb(f, "create NAME", "Create an assistant (use NAME as the model in any OpenAI client)", 1, func(cmd *cobra.Command, a []string) (string, string, url.Values, any, error) {
		if promptFile != "" {
			if prompt != "" {
				return "", "", nil, nil, errors.New("use --system-prompt or --system-prompt-file, not both")
			}
			b, err := readArgFile(cmd.InOrStdin(), promptFile)
			if err != nil {
				return "", "", nil, nil, err
			}
			prompt = string(b)
		}
		return http.MethodPost, "/v1/rampart/assistants", nil, map[string]any{
			"name": a[0], "model": model, "collections": collections, "system_prompt": prompt,
			"top_k": topK, "min_score": minScore, "description": desc,
		}, nil
	})
	create.Flags().StringVarP(&model, "model", "m", "rampart-extractive", "registry chat model that answers")
	create.Flags().StringSliceVarP(&collections, "collection", "c", nil, "collection(s) to retrieve from (repeatable)")
	create.Flags().StringVar(&prompt, "system-prompt", "", "system prompt")
	create.Flags().StringVar(&promptFile, "system-prompt-file", "", "read the system prompt from a file (- for stdin)")
	create.Flags().Int32VarP(&topK, "top-k", "k", 0, "passages per answer (1-50; 0: the default)")
	create.Flags().Float64Var(&minScore, "min-score", 0, "drop passages scoring below this")
	create.Flags().StringVar(&desc, "description", "", "free-form description")
	cmd.AddCommand(create,
		verb(f, "list", "List assistants", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/rampart/assistants", nil, nil, nil
		}),
		verb(f, "get NAME", "Show an assistant", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/rampart/assistants/" + esc(a[0]), nil, nil, nil
		}),
		verb(f, "delete NAME", "Delete an assistant", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodDelete, "/v1/rampart/assistants/" + esc(a[0]), nil, nil, nil
		}))
	return cmd
}

// readArgFile reads path, or stdin for "-" (bounded).
func readArgFile(stdin io.Reader, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(stdin, 1<<20))
	}
	return os.ReadFile(path) //nolint:gosec // the operator names the file
}
