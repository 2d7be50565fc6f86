package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// job is one accepted event or slash command.
type job struct {
	// tenant and team are the installation the request was routed to
	// (checked against the request's teams before the ack).
	tenant, team, eventID string
	responseURL           string // slash commands
	ev                    event
}

// processTimeout bounds one job (inference plus Slack, retries included).
const processTimeout = 2 * time.Minute

func (a *Adapter) process(j job) {
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	if err := a.handle(ctx, j); err != nil {
		a.m.replies.WithLabelValues("error").Inc()
		a.log.WarnContext(ctx, "slack job failed", "team_id", j.team, "event_id", j.eventID, "kind", j.ev.Type, "err", err)
		return
	}
}

func (a *Adapter) handle(ctx context.Context, j job) error {
	inst, err := a.st.InstallationByTeam(ctx, j.team, "")
	// Re-checked: the workspace may have been uninstalled (or installed
	// for another tenant) since the ack.
	if errors.Is(err, store.ErrNotFound) || (err == nil && (inst.Disabled() || inst.TenantID != j.tenant)) {
		a.m.replies.WithLabelValues("not_installed").Inc()
		return nil
	}
	if err != nil {
		return err
	}
	ctx = logging.WithTenantID(ctx, inst.TenantID)
	if j.ev.User != "" && j.ev.User == inst.BotUserID {
		a.m.replies.WithLabelValues("self").Inc()
		return nil // our own message
	}
	answer, err := a.answer(ctx, inst.TenantID, cleanText(j.ev.Text, inst.BotUserID))
	if err != nil {
		answer = "Sorry, I could not answer that right now."
		a.log.WarnContext(ctx, "answer failed", "err", err)
	}
	if j.responseURL != "" {
		if err := a.slack.Respond(ctx, j.responseURL, answer); err != nil {
			return err
		}
		a.m.replies.WithLabelValues("ok").Inc()
		return nil
	}
	tok, err := a.botToken(ctx, inst)
	if err != nil {
		return err
	}
	thread := j.ev.ThreadTS
	if thread == "" {
		thread = j.ev.TS
	}
	if err := a.slack.PostMessage(ctx, tok.AccessToken, j.ev.Channel, thread, answer); err != nil {
		return err
	}
	a.m.replies.WithLabelValues("ok").Inc()
	return nil
}

var mention = regexp.MustCompile(`<@[A-Z0-9]+(\|[^>]*)?>`)

// cleanText drops user mentions (the bot's own) from the question.
func cleanText(text, _ string) string {
	return strings.TrimSpace(mention.ReplaceAllString(text, ""))
}

// MaxQuestion bounds what is sent to inference.
const MaxQuestion = 8000

const systemPrompt = "You are Rampart's assistant in Slack. Answer concisely."

// answer asks inference as the tenant's adapter key.
func (a *Adapter) answer(ctx context.Context, tenant, question string) (string, error) {
	if question == "" {
		return "Ask me a question.", nil
	}
	if len(question) > MaxQuestion {
		question = question[:MaxQuestion]
	}
	tok, err := a.assertionFor(ctx, tenant)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(map[string]any{
		"model": a.cfg.Model,
		"messages": []map[string]string{
			{"role": "system", "content": systemPrompt},
			{"role": "user", "content": question},
		},
	})
	if err != nil {
		return "", err
	}
	out, err := a.inf.Chat(ctx, tok, body)
	if err != nil {
		return "", err
	}
	var resp struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Choices) == 0 {
		return "", fmt.Errorf("inference: unexpected response shape")
	}
	text := strings.TrimSpace(resp.Choices[0].Message.Content)
	if text == "" {
		text = "(no answer)"
	}
	return text, nil
}
