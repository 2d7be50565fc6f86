package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// WatchJob sends the tenant's job id at once, then each time it changes
// (state, progress, error, page counts), and returns after sending it
// succeeded or failed for good (a failed run that will be retried is sent
// and watched on). Another tenant's job, or one deleted meanwhile, is
// NotFound. The job is read every WatchInterval: progress is written to
// the database by whichever worker runs the job, so reading it is what
// every replica of a watcher can do.
func (s *Service) WatchJob(ctx context.Context, tenant, id string, send func(store.Job) error) error {
	if id == "" {
		return grpcerr.Invalid("job_id", "is required")
	}
	if !s.openWatch(tenant) {
		return fmt.Errorf("%w: at most %d job watches of a tenant at once", grpcerr.ErrResourceExhausted, s.o.MaxWatches)
	}
	defer s.closeWatch(tenant)
	tick := time.NewTicker(s.o.WatchInterval)
	defer tick.Stop()
	var last store.Job
	for first := true; ; first = false {
		j, err := s.o.Store.GetJob(ctx, tenant, id)
		if err != nil {
			return notFound(err, "job")
		}
		if first || j != last {
			if err := send(j); err != nil {
				return err
			}
			last = j
		}
		if j.State == store.JobSucceeded || (j.State == store.JobFailed && !j.Retrying) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// openWatch takes one of the tenant's watch slots (false: all taken).
func (s *Service) openWatch(tenant string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watches[tenant] >= s.o.MaxWatches {
		return false
	}
	s.watches[tenant]++
	return true
}

func (s *Service) closeWatch(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watches[tenant]--; s.watches[tenant] <= 0 {
		delete(s.watches, tenant)
	}
}
