package kms

// SetMaxCachedKeys lowers the key cache bound (tests).
func SetMaxCachedKeys(e *Envelope, n int) { e.max = n }

// CachedKeys is how many data keys e holds (tests).
func CachedKeys(e *Envelope) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.n
}
