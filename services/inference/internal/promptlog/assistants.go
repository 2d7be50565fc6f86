package promptlog

import (
	"context"
	"fmt"
)

// An assistant's system prompt is tenant content (it often carries the
// tenant's internal instructions and facts), so it is sealed like prompt
// logs and stored responses: with the tenant's data key, in the same seal
// format, under an AAD of its own domain that binds the tenant and the
// assistant's name (a sealed prompt copied to another assistant or tenant
// does not open, nor does a prompt log or a stored response as a prompt).

func assistantPromptAAD(tenant, name string) []byte {
	const domain = "rampart-assistant-system-prompt"
	b := make([]byte, 0, len(domain)+2+len(tenant)+len(name))
	b = append(append(b, domain...), 0)
	b = append(append(b, tenant...), 0)
	return append(b, name...)
}

// SealAssistantPrompt seals the system prompt of the tenant's assistant
// name with the tenant's data key (made on first use).
func (l *Logger) SealAssistantPrompt(ctx context.Context, tenant, name, prompt string) ([]byte, error) {
	g, err := l.aead(ctx, tenant, true)
	if err != nil {
		return nil, err
	}
	return seal(g, []byte(prompt), assistantPromptAAD(tenant, name))
}

// OpenAssistantPrompt opens what SealAssistantPrompt or
// SealPromptForTenant sealed. It fails once the tenant's key is shredded in
// keyvault (no data key unwraps).
func (l *Logger) OpenAssistantPrompt(ctx context.Context, tenant, name string, sealed []byte) (string, error) {
	switch {
	case len(sealed) == 1 && sealed[0] == sealShredded:
		return "", fmt.Errorf("assistant %q: system prompt: %w", name, ErrShreddedPrompt)
	case PromptSealedForTenant(sealed):
		pt, err := l.openWrapped(ctx, tenant, name, sealed)
		if err != nil {
			return "", fmt.Errorf("assistant %q: system prompt: %w", name, err)
		}
		return string(pt), nil
	}
	g, err := l.aead(ctx, tenant, false)
	if err != nil {
		return "", fmt.Errorf("assistant %q: system prompt: %w", name, err)
	}
	pt, err := unseal(g, sealed, assistantPromptAAD(tenant, name))
	if err != nil {
		return "", fmt.Errorf("assistant %q: system prompt: %w", name, err)
	}
	return string(pt), nil
}
