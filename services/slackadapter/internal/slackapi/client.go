package slackapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// ErrRateLimited means Slack kept answering 429 past the retry budget, or asked
// for a longer wait than MaxRetryAfter.
var ErrRateLimited = errors.New("slackapi: rate limited")

// Options configure a Client.
type Options struct {
	// APIURL is the Web API base ("https://slack.com/api/").
	APIURL string
	// HTTP is the HTTP client (default: 10 s timeout).
	HTTP *http.Client
	// MaxRetries bounds retries after 429 (default 0: none).
	MaxRetries int
	// MaxRetryAfter is the longest Retry-After honored (default 30 s).
	MaxRetryAfter time.Duration
	// Sleep waits for Retry-After (tests record instead of sleeping).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls Slack.
type Client struct{ o Options }

// New returns a Client.
func New(o Options) *Client {
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 30 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	return &Client{o: o}
}

// retry runs call, waiting out 429s up to the budget. It is not
// backoff.Retry (pkg/retry, ADR 0048): every wait is Slack's Retry-After,
// not a computed schedule, and backoff v5 keeps its timer option
// unexported, so the injected Sleep, whose exact waits the tests assert,
// could not stand in for backoff's real timer (the tests would sleep).
func (c *Client) retry(ctx context.Context, op string, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		if attempt >= c.o.MaxRetries || rl.RetryAfter > c.o.MaxRetryAfter {
			return fmt.Errorf("%w: %s (retry after %s, attempt %d)", ErrRateLimited, op, rl.RetryAfter, attempt+1)
		}
		wait := max(rl.RetryAfter, time.Second/10)
		if err := c.o.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Message is what the bot posts: Block Kit blocks and the plain-text
// fallback Slack shows in notifications (and where blocks are not shown).
type Message struct {
	Text   string
	Blocks []slack.Block
}

func (m Message) options() []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	return opts
}

func (c *Client) api(botToken string) *slack.Client {
	return slack.New(botToken, slack.OptionAPIURL(c.o.APIURL), slack.OptionHTTPClient(bearer{c: c.o.HTTP, token: botToken}))
}

// PostMessage posts msg to channel, in the thread of threadTS when set,
// and returns the new message's ts (what UpdateMessage needs).
func (c *Client) PostMessage(ctx context.Context, botToken, channel, threadTS string, msg Message) (string, error) {
	opts := msg.options()
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	var ts string
	err := c.retry(ctx, "chat.postMessage", func() error {
		var err error
		_, ts, err = c.api(botToken).PostMessageContext(ctx, channel, opts...)
		return clean("chat.postMessage", err)
	})
	return ts, err
}

// PostEphemeral shows msg to user alone in channel, in the thread of
// threadTS when set (chat.postEphemeral).
func (c *Client) PostEphemeral(ctx context.Context, botToken, channel, user, threadTS string, msg Message) error {
	opts := msg.options()
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	return c.retry(ctx, "chat.postEphemeral", func() error {
		_, err := c.api(botToken).PostEphemeralContext(ctx, channel, user, opts...)
		return clean("chat.postEphemeral", err)
	})
}

// UpdateMessage replaces the bot's message ts in channel (chat.update).
func (c *Client) UpdateMessage(ctx context.Context, botToken, channel, ts string, msg Message) error {
	return c.retry(ctx, "chat.update", func() error {
		_, _, _, err := c.api(botToken).UpdateMessageContext(ctx, channel, ts, msg.options()...)
		return clean("chat.update", err)
	})
}

// TryUpdateMessage is UpdateMessage without waiting: one attempt, for
// partial answers while streaming (the final update waits). A 429 comes
// back as *slack.RateLimitedError carrying Slack's Retry-After.
func (c *Client) TryUpdateMessage(ctx context.Context, botToken, channel, ts string, msg Message) error {
	_, _, _, err := c.api(botToken).UpdateMessageContext(ctx, channel, ts, msg.options()...)
	return clean("chat.update", err)
}

// ThreadMessage is one message of a thread.
type ThreadMessage struct {
	User, BotID, Text, TS string
}

// threadPageSize is the page size of conversations.replies (Slack
// recommends at most 200), threadMaxPages how many pages ThreadReplies
// reads at most.
const (
	threadPageSize = 200
	threadMaxPages = 10
)

// ThreadReplies returns the thread rooted at threadTS, oldest first: its
// root and its last keep replies (conversations.replies, cursor-paginated,
// earliest first, so a long thread is read to its end: at most
// threadMaxPages pages; past that, the last replies read).
func (c *Client) ThreadReplies(ctx context.Context, botToken, channel, threadTS string, keep int) ([]ThreadMessage, error) {
	var root *ThreadMessage
	var tail []ThreadMessage
	cursor := ""
	for range threadMaxPages {
		var msgs []slack.Message
		var more bool
		var next string
		err := c.retry(ctx, "conversations.replies", func() error {
			var err error
			msgs, more, next, err = c.api(botToken).GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: channel, Timestamp: threadTS, Limit: threadPageSize, Cursor: cursor})
			return clean("conversations.replies", err)
		})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			tm := ThreadMessage{User: m.User, BotID: m.BotID, Text: m.Text, TS: m.Timestamp}
			if m.Timestamp != threadTS {
				tail = append(tail, tm)
			} else if root == nil { // the root may head every page
				root = &tm
			}
		}
		if len(tail) > keep {
			tail = append(tail[:0:0], tail[len(tail)-keep:]...)
		}
		if !more || next == "" {
			break
		}
		cursor = next
	}
	if root != nil {
		return append([]ThreadMessage{*root}, tail...), nil
	}
	return tail, nil
}

// IsWorkspaceAdmin reports whether user is an admin or owner of the
// workspace (users.info).
func (c *Client) IsWorkspaceAdmin(ctx context.Context, botToken, user string) (bool, error) {
	var u *slack.User
	err := c.retry(ctx, "users.info", func() error {
		var err error
		u, err = c.api(botToken).GetUserInfoContext(ctx, user)
		return clean("users.info", err)
	})
	if err != nil {
		return false, err
	}
	return u.IsAdmin || u.IsOwner || u.IsPrimaryOwner, nil
}

// UserOrg returns the Enterprise Grid organisation of user (users.info's
// enterprise_user.enterprise_id; "" for a user of no organisation).
func (c *Client) UserOrg(ctx context.Context, botToken, user string) (string, error) {
	var u *slack.User
	err := c.retry(ctx, "users.info", func() error {
		var err error
		u, err = c.api(botToken).GetUserInfoContext(ctx, user)
		return clean("users.info", err)
	})
	if err != nil {
		return "", err
	}
	return u.Enterprise.EnterpriseID, nil
}

// Exchange trades an OAuth code for tokens (oauth.v2.access).
func (c *Client) Exchange(ctx context.Context, clientID, clientSecret, code, redirectURI string) (*slack.OAuthV2Response, error) {
	var resp *slack.OAuthV2Response
	err := c.retry(ctx, "oauth.v2.access", func() error {
		var err error
		resp, err = slack.GetOAuthV2ResponseContext(ctx, c.o.HTTP, clientID, clientSecret, code, redirectURI, slack.OAuthOptionAPIURL(c.o.APIURL))
		return clean("oauth.v2.access", err)
	})
	return resp, err
}

// Refresh rotates a bot token (oauth.v2.access grant_type=refresh_token).
func (c *Client) Refresh(ctx context.Context, clientID, clientSecret, refreshToken string) (*slack.OAuthV2Response, error) {
	var resp *slack.OAuthV2Response
	err := c.retry(ctx, "oauth.v2.access refresh", func() error {
		var err error
		resp, err = slack.RefreshOAuthV2TokenContext(ctx, c.o.HTTP, clientID, clientSecret, refreshToken, slack.OAuthOptionAPIURL(c.o.APIURL))
		return clean("oauth.v2.access", err)
	})
	return resp, err
}

// Respond posts a slash command's answer to its response_url, visible to
// the channel (inChannel) or to the user who ran the command only.
func (c *Client) Respond(ctx context.Context, responseURL string, inChannel bool, m Message) error {
	msg := &slack.WebhookMessage{Text: m.Text, ResponseType: slack.ResponseTypeEphemeral}
	if inChannel {
		msg.ResponseType = slack.ResponseTypeInChannel
	}
	if len(m.Blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: m.Blocks}
	}
	return c.retry(ctx, "response_url", func() error {
		return clean("response_url", slack.PostWebhookCustomHTTPContext(ctx, responseURL, c.o.HTTP, msg))
	})
}

// clean drops what an error could leak: *url.Error carries the URL (a
// response_url is a bearer capability), Slack API errors are short codes.
func clean(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("slackapi: %s: %s: %w", op, ue.Op, errors.Unwrap(ue))
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return fmt.Errorf("slackapi: %s: %s", op, se.Err)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return fmt.Errorf("slackapi: %s: HTTP %d", op, sc.Code)
	}
	return fmt.Errorf("slackapi: %s failed", op)
}

// bearer sends the bot token in the Authorization header and strips it
// from form bodies (slack-go puts it in chat.postMessage's form): tokens
// belong in headers, which proxies and access logs treat as secret.
type bearer struct {
	c     *http.Client
	token string
}

func (b bearer) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		raw, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, err
		}
		form.Del("token")
		body := form.Encode()
		req.Body = io.NopCloser(strings.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.c.Do(req) //nolint:gosec // G704: Slack's API base or a response_url already checked against the allow-list
}
