package openai_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

const personSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0},"role":{"enum":["admin","member"]}},"required":["name","age","role"],"additionalProperties":false}`

func mustValidate(t *testing.T, schema, instance string) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("s.json", doc))
	s, err := c.Compile("s.json")
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(instance))
	require.NoError(t, err, instance)
	require.NoError(t, s.Validate(v), instance)
}

func TestSDKStructuredOutputs(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	var schema map[string]any
	require.NoError(t, json.Unmarshal([]byte(personSchema), &schema))
	format := oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Strict: oai.Bool(true), Schema: schema},
	}}

	t.Run("echo answers with a schema-valid object", func(t *testing.T) {
		resp, err := c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
			Model: "echo", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Ada Lovelace")}, ResponseFormat: format,
		})
		require.NoError(t, err)
		mustValidate(t, personSchema, resp.Choices[0].Message.Content)
		require.Contains(t, resp.Choices[0].Message.Content, "Ada Lovelace")
	})
	t.Run("passed through to the OpenAI-compatible upstream", func(t *testing.T) {
		_, err := c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
			Model: "gpt-fake", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")}, ResponseFormat: format,
		})
		require.NoError(t, err)
		var sent struct {
			ResponseFormat struct {
				Type       string `json:"type"`
				JSONSchema struct {
					Name   string          `json:"name"`
					Strict bool            `json:"strict"`
					Schema json.RawMessage `json:"schema"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		require.NoError(t, json.Unmarshal(s.Upstream.LastBody(), &sent))
		require.Equal(t, "json_schema", sent.ResponseFormat.Type)
		require.Equal(t, "person", sent.ResponseFormat.JSONSchema.Name)
		require.True(t, sent.ResponseFormat.JSONSchema.Strict)
		require.JSONEq(t, personSchema, string(sent.ResponseFormat.JSONSchema.Schema))
	})
	t.Run("rampart-extractive declines naming response_format", func(t *testing.T) {
		_, err := c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
			Model: "rampart-extractive", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")}, ResponseFormat: format,
		})
		var apiErr *oai.Error
		require.True(t, errors.As(err, &apiErr), "%v", err)
		require.Equal(t, 400, apiErr.StatusCode)
		require.Equal(t, "response_format", apiErr.Param)
	})
}

func TestSDKForcedToolChoice(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	const params = `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(params), &p))
	tools := []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather", Parameters: p})}
	choices := map[string]oai.ChatCompletionToolChoiceOptionUnionParam{
		"required": {OfAuto: oai.String("required")},
		"named":    oai.ToolChoiceOptionFunctionToolChoice(oai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}),
	}
	for name, choice := range choices {
		t.Run(name, func(t *testing.T) {
			resp, err := c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
				Model: "echo", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Paris")}, Tools: tools, ToolChoice: choice,
			})
			require.NoError(t, err)
			require.Equal(t, "tool_calls", resp.Choices[0].FinishReason)
			require.Len(t, resp.Choices[0].Message.ToolCalls, 1)
			call := resp.Choices[0].Message.ToolCalls[0]
			require.Equal(t, "get_weather", call.Function.Name)
			mustValidate(t, params, call.Function.Arguments)
		})
	}
	t.Run("none", func(t *testing.T) {
		resp, err := c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
			Model: "echo", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage(`call:get_weather {"city":"Paris"}`)}, Tools: tools,
			ToolChoice: oai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: oai.String("none")},
		})
		require.NoError(t, err)
		require.Empty(t, resp.Choices[0].Message.ToolCalls)
		require.Equal(t, "stop", resp.Choices[0].FinishReason)
	})
}

func TestSDKLegacyCompletions(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	for _, model := range []string{"echo", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Completions.New(ctx(t), oai.CompletionNewParams{
				Model:  oai.CompletionNewParamsModel(model),
				Prompt: oai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{"first prompt", "second prompt"}},
			})
			require.NoError(t, err)
			require.Equal(t, "text_completion", string(resp.Object))
			require.Len(t, resp.Choices, 2)
			require.Equal(t, "first prompt", resp.Choices[0].Text)
			require.Equal(t, "second prompt", resp.Choices[1].Text)
			require.Equal(t, int64(1), resp.Choices[1].Index)
			require.Positive(t, resp.Usage.TotalTokens)

			stream := c.Completions.NewStreaming(ctx(t), oai.CompletionNewParams{
				Model:         oai.CompletionNewParamsModel(model),
				Prompt:        oai.CompletionNewParamsPromptUnion{OfString: oai.String("stream these words")},
				StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
			})
			var text string
			var total int64
			for stream.Next() {
				ch := stream.Current()
				for _, choice := range ch.Choices {
					text += choice.Text
				}
				total += ch.Usage.TotalTokens
			}
			require.NoError(t, stream.Err())
			require.Equal(t, "stream these words", text)
			require.Positive(t, total)
		})
	}
}
