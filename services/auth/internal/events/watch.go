package events

import (
	"context"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Watch delivers events with cursor > after to send, in order, until ctx
// ends or send fails. after == 0 starts from now. When the log cannot
// resume from after (pruned past it, or a cursor from the future), resync is
// called with the current head cursor and delivery continues from there.
// ready runs once the starting cursor is fixed (a stream handler sends its
// headers there), so a caller that waits for it cannot miss an event
// appended afterwards. Watch reads the log only when the Hub rings: the
// process's [Feed] rings it for events appended elsewhere, the key service
// for its own.
func Watch(ctx context.Context, db *store.DB, hub *Hub, after int64, ready func() error, send func(store.Event) error, resync func(cursor int64) error) error {
	lo, hi, err := db.Q().EventBounds(ctx)
	if err != nil {
		return err
	}
	if err := ready(); err != nil {
		return err
	}
	switch {
	case after == 0:
		after = hi
	case after > hi || (lo > 0 && after < lo-1):
		if err := resync(hi); err != nil {
			return err
		}
		after = hi
	}
	for {
		wake := hub.Wait() // before reading, so no Notify is missed
		evs, err := db.Q().EventsAfter(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := send(e); err != nil {
				return err
			}
			after = e.Cursor
		}
		if len(evs) == 500 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}
