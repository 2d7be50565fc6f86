package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/rampart-platform/rampart/pkg/awsclient"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Config configures the client.
type Config struct {
	Region string
	// Endpoint overrides the service endpoint (VPC endpoint, tests).
	Endpoint string
	// Timeout bounds one call (0 = 120 s).
	Timeout time.Duration
	// MaxRetries on throttling and 5xx (0 = 3; negative = none).
	MaxRetries int
	// BaseBackoff is the first retry delay (0 = 200 ms), doubled per attempt with jitter.
	BaseBackoff time.Duration
	// Credentials overrides the default chain (tests).
	Credentials aws.CredentialsProvider
	// HTTPClient overrides the SDK's client (tests).
	HTTPClient *http.Client
}

// Provider calls Bedrock.
type Provider struct {
	client  *bedrockruntime.Client
	timeout time.Duration
}

// New builds a client from cfg and the default AWS configuration.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	opts := []func(*awsconfig.LoadOptions) error{}
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(cfg.Credentials))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("bedrock: load AWS config: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("bedrock: no region (set the upstream's region or AWS_REGION)")
	}
	attempts := cfg.MaxRetries + 1
	if cfg.MaxRetries == 0 {
		attempts = 4
	} else if cfg.MaxRetries < 0 {
		attempts = 1
	}
	base := cfg.BaseBackoff
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	client := bedrockruntime.NewFromConfig(awsCfg, func(o *bedrockruntime.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
		if o.HTTPClient != nil {
			// A ConverseStream otherwise loses its connection mid-stream
			// now and then (pkg/awsclient says why).
			o.HTTPClient = awsclient.HTTPClient(o.HTTPClient)
		}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.Backoff = backoff{base: base}
			so.RateLimiter = noRateLimit{}
		})
	})
	p := &Provider{client: client, timeout: cfg.Timeout}
	if p.timeout <= 0 {
		p.timeout = 120 * time.Second
	}
	return p, nil
}

type backoff struct{ base time.Duration }

func (b backoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := b.base << min(attempt-1, 8)
	return d/2 + rand.N(d/2+1), nil //nolint:gosec // retry jitter needs no crypto randomness
}

// noRateLimit disables the client-side retry token bucket: a burst of
// throttles from one tenant must not stop retries for everyone.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

// Name implements provider.Provider.
func (*Provider) Name() string { return "bedrock" }

// Capabilities implements provider.Provider.
func (*Provider) Capabilities(model string) provider.Capabilities {
	if isEmbedModel(model) {
		return provider.Capabilities{Embeddings: true, ReportsUsage: true}
	}
	return provider.Capabilities{Chat: true, Stream: true, Tools: true, ReportsUsage: true}
}

func isEmbedModel(m string) bool {
	return strings.Contains(m, "titan-embed") || strings.Contains(m, "cohere.embed")
}

// Chat implements provider.Provider with Converse.
func (p *Provider) Chat(ctx context.Context, call *provider.ChatCall) (*provider.ChatResult, error) {
	in, err := converseInput(call)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out, err := p.client.Converse(ctx, in)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	res := &provider.ChatResult{FinishReason: finishReason(out.StopReason)}
	if msg, ok := out.Output.(*types.ConverseOutputMemberMessage); ok {
		for _, b := range msg.Value.Content {
			switch v := b.(type) {
			case *types.ContentBlockMemberText:
				res.Content += v.Value
				res.HasContent = true
			case *types.ContentBlockMemberToolUse:
				args, err := docJSON(v.Value.Input)
				if err != nil {
					return nil, apierr.Unavailable("The upstream model returned malformed tool input.", 0)
				}
				res.ToolCalls = append(res.ToolCalls, wire.ToolCall{ID: aws.ToString(v.Value.ToolUseId), Type: "function",
					Function: wire.ToolCallFunction{Name: aws.ToString(v.Value.Name), Arguments: args}})
			}
		}
	}
	if u := out.Usage; u != nil {
		res.Usage = usage(u)
	}
	return res, nil
}

// Stream implements provider.Provider with ConverseStream.
func (p *Provider) Stream(ctx context.Context, call *provider.ChatCall, emit func(*provider.Delta) error) error {
	in, err := converseInput(call)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out, err := p.client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
		ModelId: in.ModelId, Messages: in.Messages, System: in.System, InferenceConfig: in.InferenceConfig, ToolConfig: in.ToolConfig,
	})
	if err != nil {
		return mapError(ctx, err)
	}
	es := out.GetStream()
	defer es.Close()
	type toolAcc struct {
		id, name string
		args     strings.Builder
	}
	tools := map[int32]*toolAcc{}
	var order []int32
	last := &provider.Delta{}
	for ev := range es.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockStart:
			if tu, ok := v.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
				idx := aws.ToInt32(v.Value.ContentBlockIndex)
				tools[idx] = &toolAcc{id: aws.ToString(tu.Value.ToolUseId), name: aws.ToString(tu.Value.Name)}
				order = append(order, idx)
			}
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				if d.Value != "" {
					if err := emit(&provider.Delta{Content: d.Value}); err != nil {
						return err
					}
				}
			case *types.ContentBlockDeltaMemberToolUse:
				if t := tools[aws.ToInt32(v.Value.ContentBlockIndex)]; t != nil {
					t.args.WriteString(aws.ToString(d.Value.Input))
				}
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			last.FinishReason = finishReason(v.Value.StopReason)
		case *types.ConverseStreamOutputMemberMetadata:
			if u := v.Value.Usage; u != nil {
				pu := usage(u)
				last.Usage = &pu
			}
		}
	}
	if err := es.Err(); err != nil {
		return mapError(ctx, err)
	}
	if ctx.Err() != nil {
		return mapError(ctx, ctx.Err())
	}
	for _, idx := range order {
		t := tools[idx]
		args := t.args.String()
		if args == "" {
			args = "{}"
		}
		last.ToolCalls = append(last.ToolCalls, wire.ToolCall{ID: t.id, Type: "function", Function: wire.ToolCallFunction{Name: t.name, Arguments: args}})
	}
	if last.FinishReason == "" {
		last.FinishReason = "stop"
	}
	return emit(last)
}

func finishReason(r types.StopReason) string {
	switch r {
	case types.StopReasonToolUse:
		return "tool_calls"
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		return "length"
	case types.StopReasonGuardrailIntervened, types.StopReasonContentFiltered:
		return "content_filter"
	default:
		return "stop"
	}
}

func docJSON(d document.Interface) (string, error) {
	if d == nil {
		return "{}", nil
	}
	var v any
	if err := d.UnmarshalSmithyDocument(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// converseInput maps an OpenAI request to Converse: system/developer
// messages become the system prompt, tool results become user toolResult
// blocks, and consecutive messages of one role are merged (Bedrock requires
// alternating roles).
func converseInput(call *provider.ChatCall) (*bedrockruntime.ConverseInput, error) {
	r := call.Request
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(call.UpstreamModel)}
	for _, p := range call.Passages {
		in.System = append(in.System, &types.SystemContentBlockMemberText{Value: "Source " + p.ID + " (" + p.Source + "):\n" + p.Text})
	}
	add := func(role types.ConversationRole, blocks ...types.ContentBlock) {
		if n := len(in.Messages); n > 0 && in.Messages[n-1].Role == role {
			in.Messages[n-1].Content = append(in.Messages[n-1].Content, blocks...)
			return
		}
		in.Messages = append(in.Messages, types.Message{Role: role, Content: blocks})
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer":
			in.System = append(in.System, &types.SystemContentBlockMemberText{Value: m.Content.Text})
		case "user":
			add(types.ConversationRoleUser, &types.ContentBlockMemberText{Value: m.Content.Text})
		case "tool":
			add(types.ConversationRoleUser, &types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: aws.String(m.ToolCallID),
				Content:   []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: m.Content.Text}},
			}})
		case "assistant":
			var blocks []types.ContentBlock
			if m.Content.Text != "" {
				blocks = append(blocks, &types.ContentBlockMemberText{Value: m.Content.Text})
			}
			for j, tc := range m.ToolCalls {
				var args any = map[string]any{}
				if strings.TrimSpace(tc.Function.Arguments) != "" {
					if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil {
						return nil, apierr.Invalid(fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j), "arguments must be JSON")
					}
				}
				blocks = append(blocks, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
					ToolUseId: aws.String(tc.ID), Name: aws.String(tc.Function.Name), Input: document.NewLazyDocument(args),
				}})
			}
			if len(blocks) > 0 {
				add(types.ConversationRoleAssistant, blocks...)
			}
		}
	}
	in.InferenceConfig = inferenceConfig(r)
	if len(r.Tools) > 0 {
		tc, err := toolConfig(r)
		if err != nil {
			return nil, err
		}
		in.ToolConfig = tc
	}
	return in, nil
}

// inferenceConfig maps the sampling settings and the output limit.
func inferenceConfig(r *wire.ChatRequest) *types.InferenceConfiguration {
	ic := &types.InferenceConfiguration{StopSequences: r.Stop}
	if n := r.MaxOutputTokens(); n > 0 {
		ic.MaxTokens = aws.Int32(int32(min(n, 1<<30)))
	}
	if r.Temperature != nil {
		ic.Temperature = aws.Float32(float32(*r.Temperature))
	}
	if r.TopP != nil {
		ic.TopP = aws.Float32(float32(*r.TopP))
	}
	return ic
}

// toolConfig maps the function tools and the tool choice.
func toolConfig(r *wire.ChatRequest) (*types.ToolConfiguration, error) {
	tc := &types.ToolConfiguration{}
	for _, t := range r.Tools {
		var schema any = map[string]any{"type": "object"}
		if len(t.Function.Parameters) > 0 {
			if err := json.Unmarshal(t.Function.Parameters, &schema); err != nil {
				return nil, apierr.Invalid("tools", "tool parameters must be a JSON Schema object")
			}
		}
		spec := types.ToolSpecification{Name: aws.String(t.Function.Name), InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)}}
		if t.Function.Description != "" {
			spec.Description = aws.String(t.Function.Description)
		}
		tc.Tools = append(tc.Tools, &types.ToolMemberToolSpec{Value: spec})
	}
	switch choice, _ := r.ToolChoiceName(); choice {
	case "", "none", "auto":
		tc.ToolChoice = &types.ToolChoiceMemberAuto{}
	case "required":
		tc.ToolChoice = &types.ToolChoiceMemberAny{}
	default:
		tc.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(choice)}}
	}
	return tc, nil
}

// mapError turns SDK errors into OpenAI-shaped ones without upstream detail
// beyond validation messages, which are about the caller's request.
func mapError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return err
	}
	var (
		throttle *types.ThrottlingException
		quota    *types.ServiceQuotaExceededException
		valid    *types.ValidationException
		timeout  *types.ModelTimeoutException
		denied   *types.AccessDeniedException
		notFound *types.ResourceNotFoundException
	)
	switch {
	case errors.As(err, &throttle), errors.As(err, &quota):
		return apierr.RateLimited("The upstream model is rate limited; retry later.", 0)
	case errors.As(err, &valid):
		return apierr.Invalid("", "The upstream model rejected the request: %s", cut(valid.ErrorMessage(), 300))
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return apierr.Timeout("The upstream model timed out.")
	case errors.As(err, &denied):
		return apierr.Unavailable("The upstream rejected Rampart's credentials; the operator must fix the provider configuration.", 0)
	case errors.As(err, &notFound):
		return apierr.Unavailable("The upstream does not serve the configured model.", 0)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return apierr.Unavailable("The upstream model is unavailable.", 0).WithCause(err)
	}
	return apierr.Unavailable("The upstream model is unreachable.", 0).WithCause(err)
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// usage maps Converse's TokenUsage to OpenAI's counts (ADR 0120 §4).
// Converse's inputTokens leaves out the prompt tokens read from or written
// to the prompt cache (its totalTokens counts them: input + output +
// cacheRead + cacheWrite), while OpenAI's prompt_tokens includes the
// cached ones and says how many in prompt_tokens_details.cached_tokens. So
// prompt_tokens is the three input counts together and cached_tokens the
// cache reads; the details are present only when Bedrock sent a cache
// count (a model or request without prompt caching has none, as before).
func usage(u *types.TokenUsage) provider.Usage {
	out := provider.Usage{PromptTokens: int(aws.ToInt32(u.InputTokens)), CompletionTokens: int(aws.ToInt32(u.OutputTokens)), Reported: true}
	if u.CacheReadInputTokens == nil && u.CacheWriteInputTokens == nil {
		return out
	}
	read, write := int(aws.ToInt32(u.CacheReadInputTokens)), int(aws.ToInt32(u.CacheWriteInputTokens))
	out.PromptTokens += read + write
	out.PromptDetails = &wire.PromptTokensDetails{CachedTokens: read}
	return out
}
