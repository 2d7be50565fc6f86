package keyvaulttest

import "context"

// Gated is Direct whose every Decrypt waits for the test: it hands the
// call's own release channel over Entered and unwraps once that is closed.
// A test can so act (Forget the tenant, say) while a key is being
// unwrapped.
type Gated struct {
	Direct
	Entered chan chan struct{}
}

// NewGated returns a Gated over k.
func NewGated(k *KMS) Gated { return Gated{Direct: Direct{K: k}, Entered: make(chan chan struct{})} }

// Decrypt opens a data key once the test releases the call.
func (g Gated) Decrypt(ctx context.Context, wrapped []byte, ec map[string]string) ([]byte, error) {
	release := make(chan struct{})
	g.Entered <- release
	<-release
	return g.Direct.Decrypt(ctx, wrapped, ec)
}
