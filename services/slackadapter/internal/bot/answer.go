package bot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"google.golang.org/grpc/codes"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/platform"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

const systemPrompt = "You are Rampart's assistant in Slack. Answer concisely."

// placeholderText is the bot's message until the answer replaces it.
const placeholderText = "_Looking in your documents…_"

// Thread context bounds: earlier turns sent with a follow-up, read from
// the root and the last threadReplies replies of the thread (a reply
// posted after the question, the bot's own placeholder among them, is not
// history).
const (
	threadReplies  = 50
	maxThreadTurns = 10
	maxThreadBytes = 16 << 10
)

// citation is one entry of rampart.citations (docs/adr/0012): one per
// document since docs/adr/0079, its index the answer's "[n]".
type citation struct {
	Index      int    `json:"index"`
	DocumentID string `json:"document_id"`
	Source     string `json:"source"`
	Title      string `json:"title"`
	URL        string `json:"url"`
	ChunkID    string `json:"chunk_id"`
	Quote      string `json:"quote"`
	// Passages are the document's cited passages (docs/adr/0079); the bot
	// reads where they are (docs/adr/0085).
	Passages []citedPassage `json:"passages"`
}

// citedPassage is one passage of a cited document.
type citedPassage struct {
	Location *location `json:"location"`
}

// location is where a cited passage is in its document: lines of a text
// file, pages of a PDF (0: none).
type location struct {
	Line    int `json:"line"`
	LineEnd int `json:"line_end"`
	Page    int `json:"page"`
	PageEnd int `json:"page_end"`
}

// chunk is the part of a chat.completion.chunk the bot reads.
type chunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Rampart *struct {
		Citations []citation `json:"citations"`
		Warning   string     `json:"warning"`
	} `json:"rampart"`
}

// answer is what inference said.
type answer struct {
	text      string
	citations []citation
	warning   string
}

// reply answers a mention, DM or /rampart ask as the installation's
// tenant: with the channel's (or workspace's) binding, the thread's earlier
// user turns, streamed into a placeholder message with chat.update (slash
// commands: answered at response_url). An answer longer than one Slack
// message goes on in more messages (render); a failure after the
// placeholder is told in it, never left as silence (docs/adr/0125).
func (a *Adapter) reply(ctx context.Context, inst store.Installation, j job) error {
	question := cleanText(j.ev.Text)
	if j.cmd.kind == cmdAsk {
		question = j.cmd.arg
	}
	if len(question) > MaxQuestion {
		question = strings.ToValidUTF8(question[:MaxQuestion], "")
	}
	if j.responseURL != "" {
		return a.replyAtResponseURL(ctx, inst, j, question)
	}
	tok, err := a.assertionFor(ctx, inst.TenantID)
	if err != nil {
		return err // no bot token without it: nothing can be posted
	}
	bot, err := a.botToken(ctx, inst)
	if err != nil {
		return err
	}
	thread := j.ev.ThreadTS
	if thread == "" {
		thread = j.ev.TS
	}
	placeholder := slackapi.Message{Text: placeholderText}
	ts, err := a.slack.PostMessage(ctx, bot.AccessToken, j.ev.Channel, thread, placeholder)
	if err != nil {
		return fmt.Errorf("%w: %w", errUndelivered, err)
	}
	a.joinedThread(ctx, inst, j, thread)
	// From here every failure replaces the placeholder: never silence.
	bind, err := a.st.BindingFor(ctx, inst.TenantID, inst.TeamID, j.ev.Channel)
	if errors.Is(err, store.ErrNotFound) {
		err = nil
	}
	var history []turn
	if err == nil && j.ev.ThreadTS != "" && j.ev.ThreadTS != j.ev.TS {
		history = a.threadTurns(ctx, bot.AccessToken, inst, j.ev)
	}
	progress := a.streamInto(ctx, bot.AccessToken, j.ev.Channel, ts)
	var ans answer
	aerr := err
	if aerr == nil {
		ans, aerr = a.ask(ctx, tok, bind, history, question, progress)
	}
	msgs := render(ans, aerr)
	if err := a.slack.UpdateMessage(ctx, bot.AccessToken, j.ev.Channel, ts, msgs[0]); err != nil {
		a.undeliverable(ctx, bot.AccessToken, j.ev.Channel, ts, err)
		return fmt.Errorf("%w: %w", errUndelivered, err)
	}
	// A long answer goes on in the thread (docs/adr/0125).
	for _, m := range msgs[1:] {
		if _, err := a.slack.PostMessage(ctx, bot.AccessToken, j.ev.Channel, thread, m); err != nil {
			return fmt.Errorf("%w: %w", errUndelivered, err)
		}
	}
	return a.replied(ctx, inst, j, bind, ts, ans, aerr)
}

// BotThreadTTL is how long after its last answer in a channel thread the
// bot answers a plain reply there (ADR 0128); after it, a mention again.
const BotThreadTTL = 30 * 24 * time.Hour

// joinedThread records that the bot answered in a channel thread, so a
// plain reply there is answered (ADR 0128); DMs are answered anyway. A
// failure costs only that: the answer goes on, and a mention still works.
func (a *Adapter) joinedThread(ctx context.Context, inst store.Installation, j job, thread string) {
	if j.ev.ChannelType == "im" || strings.HasPrefix(j.ev.Channel, "D") {
		return
	}
	if err := a.st.MarkBotThread(ctx, inst.TenantID, inst.TeamID, j.ev.Channel, thread, a.now().Add(BotThreadTTL)); err != nil {
		a.log.WarnContext(ctx, "bot thread not recorded", "team_id", inst.TeamID, "channel_id", j.ev.Channel, "err", err)
	}
}

// replyAtResponseURL answers a slash command: every failure too, as the
// asker saw only "Working on it…".
func (a *Adapter) replyAtResponseURL(ctx context.Context, inst store.Installation, j job, question string) error {
	bind, tok, err := a.answerAs(ctx, inst, j)
	var ans answer
	if err == nil {
		ans, err = a.ask(ctx, tok, bind, nil, question, nil)
	}
	for _, msg := range render(ans, err) {
		// A failure is the asker's alone.
		if rerr := a.respond(ctx, j, err == nil, msg); rerr != nil {
			return rerr
		}
	}
	return a.replied(ctx, inst, j, bind, "", ans, err)
}

// streamInto returns the progress callback that replaces the placeholder
// ts with the partial answer as it streams, at most once per
// StreamUpdateInterval (chat.update is rate limited), one attempt each: a
// 429 skips partial updates for its Retry-After rather than holding up
// the answer; the final update waits its turn.
func (a *Adapter) streamInto(ctx context.Context, botToken, channel, ts string) func(string) {
	var next time.Time
	return func(text string) {
		if a.now().Before(next) || strings.TrimSpace(text) == "" {
			return
		}
		next = a.now().Add(a.cfg.StreamUpdateInterval)
		err := a.slack.TryUpdateMessage(ctx, botToken, channel, ts, partial(text))
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			next = a.now().Add(rl.RetryAfter)
		}
		if err != nil {
			a.log.DebugContext(ctx, "stream update skipped", "err", err)
		}
	}
}

// answerAs is what a slash command's answer needs: the binding of its
// channel (none is the zero binding) and the tenant's assertion.
func (a *Adapter) answerAs(ctx context.Context, inst store.Installation, j job) (store.Binding, string, error) {
	bind, err := a.st.BindingFor(ctx, inst.TenantID, inst.TeamID, j.ev.Channel)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Binding{}, "", err
	}
	tok, err := a.assertionFor(ctx, inst.TenantID)
	return bind, tok, err
}

// errUndelivered marks a failure to post to Slack: telling the user
// about it through Slack again is pointless.
var errUndelivered = errors.New("not delivered to slack")

// undeliverable replaces the placeholder ts with a plain sentence when
// Slack refused the answer's message (a limit Slack enforces that the
// renderer did not know of), so the asker is not left with "Looking in
// your documents…". A rate limit past the retry budget would refuse this
// too: not tried.
func (a *Adapter) undeliverable(ctx context.Context, botToken, channel, ts string, err error) {
	if errors.Is(err, slackapi.ErrRateLimited) || ctx.Err() != nil {
		return
	}
	msg := slackapi.Message{Text: "Sorry, Slack did not accept my answer to this, so I cannot show it here. Please ask again, or more narrowly."}
	if uerr := a.slack.UpdateMessage(ctx, botToken, channel, ts, msg); uerr != nil {
		a.log.WarnContext(ctx, "slack refused the failure notice too", "err", uerr)
	}
}

// replied logs and counts a delivered reply by ids, never its text.
func (a *Adapter) replied(ctx context.Context, inst store.Installation, j job, bind store.Binding, ts string, ans answer, aerr error) error {
	if aerr != nil {
		a.m.replies.WithLabelValues("answer_failed").Inc()
		a.log.WarnContext(ctx, "answer failed", "team_id", inst.TeamID, "channel_id", j.ev.Channel, "event_id", j.eventID, "err", aerr)
		return nil
	}
	docs := make([]string, 0, len(ans.citations))
	for _, c := range ans.citations {
		if !slices.Contains(docs, c.DocumentID) {
			docs = append(docs, c.DocumentID)
		}
	}
	a.m.replies.WithLabelValues("ok").Inc()
	a.log.InfoContext(ctx, "slack reply sent", "team_id", inst.TeamID, "channel_id", j.ev.Channel, "event_id", j.eventID,
		"reply_ts", ts, "user_id", j.ev.User, "assistant", bind.Assistant, "collections", bind.Collections,
		"citations", len(ans.citations), "document_ids", docs, "grounding_warning", ans.warning != "")
	return nil
}

// turn is one earlier message of a thread, as chat history.
type turn struct {
	role    string // "user" or "assistant"
	content string
}

// threadTurns returns the thread's messages before ev, oldest first, as
// history: people's as user turns (mentions removed), this bot's own
// answers as assistant turns (a long answer's messages joined), so a
// follow-up such as "shorten that" has its "that" (docs/adr/0125). Other
// bots' messages, this bot's placeholder, partial answers and failure
// notices are left out. Bounded to the last maxThreadTurns turns and
// maxThreadBytes.
func (a *Adapter) threadTurns(ctx context.Context, botToken string, inst store.Installation, ev event) []turn {
	msgs, err := a.slack.ThreadReplies(ctx, botToken, ev.Channel, ev.ThreadTS, threadReplies)
	if err != nil {
		a.log.WarnContext(ctx, "thread history unavailable", "err", err)
		return nil
	}
	var turns []turn
	for _, m := range msgs {
		if !tsBefore(m.TS, ev.TS) {
			continue // the question itself, and what came after it
		}
		var t turn
		switch {
		case m.User != "" && m.User == inst.BotUserID:
			if !isAnswer(m.Text) {
				continue
			}
			t = turn{role: "assistant", content: unescape(m.Text)}
		case m.BotID != "" || m.User == "":
			continue
		default:
			t = turn{role: "user", content: cleanText(m.Text)}
		}
		if t.content == "" {
			continue
		}
		if n := len(turns); n > 0 && t.role == "assistant" && turns[n-1].role == "assistant" {
			turns[n-1].content += "\n" + t.content // one answer in several messages
			continue
		}
		turns = append(turns, t)
	}
	if len(turns) > maxThreadTurns {
		turns = turns[len(turns)-maxThreadTurns:]
	}
	total := 0
	for i := len(turns) - 1; i >= 0; i-- {
		if total += len(turns[i].content); total > maxThreadBytes {
			return turns[i+1:]
		}
	}
	return turns
}

// isAnswer tells an answer the bot posted from its placeholder, a partial
// answer left by a failed update, and its failure notices.
func isAnswer(text string) bool {
	return text != placeholderText && !strings.HasSuffix(text, " …") && !strings.HasPrefix(text, "Sorry, ")
}

// unescape undoes escape: the bot's own messages as the model wrote them.
func unescape(s string) string {
	return strings.TrimSpace(strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s))
}

// tsBefore orders Slack message timestamps ("1800000002.000100"):
// seconds, then the part after the dot. An unreadable one is not before.
func tsBefore(a, b string) bool {
	as, af, _ := strings.Cut(a, ".")
	bs, bf, _ := strings.Cut(b, ".")
	ai, err1 := strconv.ParseInt(as, 10, 64)
	bi, err2 := strconv.ParseInt(bs, 10, 64)
	aj, err3 := strconv.ParseInt(cmp.Or(af, "0"), 10, 64)
	bj, err4 := strconv.ParseInt(cmp.Or(bf, "0"), 10, 64)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return false
	}
	return ai < bi || ai == bi && aj < bj
}

// request builds the OpenAI body: the binding's assistant as the model,
// or the configured model with the binding's collections.
func (a *Adapter) request(bind store.Binding, history []turn, question string) ([]byte, error) {
	msgs := []map[string]string{{"role": "system", "content": systemPrompt}}
	for _, h := range history {
		msgs = append(msgs, map[string]string{"role": h.role, "content": h.content})
	}
	msgs = append(msgs, map[string]string{"role": "user", "content": question})
	body := map[string]any{"model": a.cfg.Model, "messages": msgs, "stream": true}
	switch {
	case bind.Assistant != "":
		body["model"] = bind.Assistant
	case len(bind.Collections) > 0:
		body["rampart"] = map[string]any{"collections": bind.Collections}
	}
	return json.Marshal(body)
}

// ask streams the answer, calling progress with the text so far.
func (a *Adapter) ask(ctx context.Context, tok string, bind store.Binding, history []turn, question string, progress func(string)) (answer, error) {
	if question == "" {
		return answer{text: "Ask me a question."}, nil
	}
	body, err := a.request(bind, history, question)
	if err != nil {
		return answer{}, err
	}
	var ans answer
	var sb strings.Builder
	err = a.inf.Stream(ctx, tok, body, func(raw []byte) error {
		var c chunk
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("inference: chunk is not JSON: %w", err)
		}
		for _, ch := range c.Choices {
			sb.WriteString(ch.Delta.Content)
		}
		if c.Rampart != nil {
			ans.citations = append(ans.citations, c.Rampart.Citations...)
			if c.Rampart.Warning != "" {
				ans.warning = c.Rampart.Warning
			}
		}
		if progress != nil && len(c.Choices) > 0 {
			progress(sb.String())
		}
		return nil
	})
	ans.text = strings.TrimSpace(sb.String())
	if err != nil {
		return ans, err
	}
	if ans.text == "" {
		ans.text = "(no answer)"
	}
	return ans, nil
}

// failure is what the user sees when the answer failed: inference's own
// message when it is about the request (an unknown collection or
// assistant bound to the channel), a generic one otherwise.
func failure(err error) string {
	var ie *platform.InferenceError
	if errors.As(err, &ie) {
		switch ie.Code {
		case codes.NotFound, codes.InvalidArgument, codes.PermissionDenied, codes.ResourceExhausted:
			return "Sorry, I could not answer: " + ie.Message
		}
	}
	return "Sorry, I could not answer that right now."
}
