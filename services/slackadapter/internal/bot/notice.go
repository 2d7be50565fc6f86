package bot

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// The suspension notice's capability (ADR 0137). A workspace's bot token
// lives in keyvault under its tenant and is read with the tenant's
// assertion, which auth does not sign while the tenant is suspended: the
// notice a mention gets then (chat.postEphemeral, which needs a bot token)
// could be posted only while the adapter's 5-minute secrets cache still
// held the token. The adapter therefore keeps, per live installation, a
// notice token: the bot's access token alone (never the refresh token),
// sealed under its key-encryption key with AAD
// "suspension-notice:<tenant>:<team>". It is written while the tenant is
// active (install, refresh, and the first answer after a change) and
// deleted with the installation and the tenant. It is opened in one place,
// noticeToken, whose one caller posts one fixed sentence to the asker
// alone; nothing else of the tenant — its other secrets, inference,
// ingestion, the refresh token — becomes usable by a suspension.

// noticeSecret is what a notice token seals.
type noticeSecret struct {
	AccessToken string `json:"access_token"`
}

func noticeAAD(tenant, team string) string { return "suspension-notice:" + tenant + ":" + team }

// keepNotice stores tok's access token as inst's notice token unless this
// process stored that very token already. A failure costs only the notice
// during a later suspension: logged, never the answer.
func (a *Adapter) keepNotice(ctx context.Context, inst store.Installation, tok botToken) {
	sum := sha256.Sum256([]byte(inst.TenantID + "\x00" + tok.AccessToken))
	a.mu.Lock()
	same := a.notices[inst.TeamID] == sum
	a.mu.Unlock()
	if same {
		return
	}
	plain, _ := json.Marshal(noticeSecret{AccessToken: tok.AccessToken}) //nolint:gosec // G117: sealed, never logged
	sealed, err := a.kr.Seal(plain, noticeAAD(inst.TenantID, inst.TeamID))
	if err == nil {
		nt := store.NoticeToken{TeamID: inst.TeamID, TenantID: inst.TenantID, Sealed: sealed}
		if tok.ExpiresAt > 0 {
			nt.ExpiresAt = time.Unix(tok.ExpiresAt, 0)
		}
		err = a.st.PutNoticeToken(ctx, nt)
	}
	if err != nil {
		a.log.WarnContext(ctx, "suspension notice token not kept", "team_id", inst.TeamID, "err", err)
		return
	}
	a.mu.Lock()
	a.notices[inst.TeamID] = sum
	a.mu.Unlock()
}

// forgetNotice drops what keepNotice remembers of team, so the next token
// read stores its notice token again.
func (a *Adapter) forgetNotice(team string) {
	a.mu.Lock()
	delete(a.notices, team)
	a.mu.Unlock()
}

// errNoticeExpired: the notice token is a rotating token past its expiry.
var errNoticeExpired = errors.New("notice token expired (rotating token not refreshed while the tenant is not active)")

// noticeToken opens inst's notice token. Its only caller is notActive,
// which posts the fixed notice with it (chat.postEphemeral) and nothing
// else.
func (a *Adapter) noticeToken(ctx context.Context, inst store.Installation) (string, error) {
	nt, err := a.st.NoticeTokenFor(ctx, inst.TenantID, inst.TeamID)
	if err != nil {
		return "", err
	}
	if !nt.ExpiresAt.IsZero() && !a.now().Before(nt.ExpiresAt) {
		return "", errNoticeExpired
	}
	plain, err := a.kr.Open(nt.Sealed, noticeAAD(inst.TenantID, inst.TeamID))
	if err != nil {
		return "", err
	}
	var s noticeSecret
	if err := json.Unmarshal(plain, &s); err != nil || s.AccessToken == "" {
		return "", errors.New("notice token: not a token object")
	}
	return s.AccessToken, nil
}
