package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// personSchema is a strict-mode structured-output schema.
const personSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0},"role":{"enum":["admin","member"]},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","age","role","tags"],"additionalProperties":false}`

func requireSchemaValid(t *testing.T, schema, instance string) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("schema.json", doc))
	s, err := c.Compile("schema.json")
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(instance))
	require.NoError(t, err, instance)
	require.NoError(t, s.Validate(v), instance)
}

// TestOpenAIContractWithNodeSDK drives the dev stack (`rampart dev`, with
// its dev tool policy) with the official Node SDK: structured outputs
// (json_schema) against echo and declined by rampart-extractive, forced
// tool_choice with a function tool the dev policy allows, and the legacy
// completions API (array prompt, streaming with usage).
func TestOpenAIContractWithNodeSDK(t *testing.T) {
	sdk := nodeWithOpenAI(t)
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	var key createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin,
		map[string]any{"name": "openai-contract", "scopes": []string{"chat:write"}}, &key))

	script := `
const { OpenAI } = require("openai");
(async () => {
  const c = new OpenAI({ baseURL: process.env.BASE_URL + "/v1", apiKey: process.env.KEY, maxRetries: 0 });
  const schema = JSON.parse(process.env.SCHEMA);
  const messages = [{ role: "user", content: "Ada Lovelace" }];
  const response_format = { type: "json_schema", json_schema: { name: "person", strict: true, schema } };
  const structured = await c.chat.completions.parse({ model: "echo", messages, response_format });
  let declined = null;
  try {
    await c.chat.completions.create({ model: "rampart-extractive", messages, response_format });
  } catch (e) { declined = { status: e.status, param: e.param }; }
  const tools = [{ type: "function", function: { name: "extract_person", description: "record a person", parameters: schema } }];
  const named = await c.chat.completions.create({ model: "echo", messages, tools,
    tool_choice: { type: "function", function: { name: "extract_person" } } });
  const required = await c.chat.completions.create({ model: "echo", messages, tools, tool_choice: "required" });
  const none = await c.chat.completions.create({ model: "echo", messages: [{ role: "user", content: "call:extract_person {}" }], tools, tool_choice: "none" });
  const legacy = await c.completions.create({ model: "echo", prompt: ["Say this is a test", "and this"], max_tokens: 50 });
  let streamed = "", usage = null;
  const ls = await c.completions.create({ model: "echo", prompt: "stream these words", stream: true, stream_options: { include_usage: true } });
  for await (const ch of ls) {
    for (const x of ch.choices) streamed += x.text;
    if (ch.usage) usage = ch.usage;
  }
  console.log(JSON.stringify({ structured, declined, named, required, none, legacy, streamed, usage }));
})().catch((e) => { console.error(e); process.exit(1); });
`
	stdout := sdk.run(t, script, "BASE_URL="+s.baseURL, "KEY="+key.APIKey, "SCHEMA="+personSchema)

	type toolCalls []struct {
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	type chat struct {
		Choices []struct {
			Message struct {
				Content   *string         `json:"content"`
				Parsed    json.RawMessage `json:"parsed"`
				ToolCalls toolCalls       `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	var res struct {
		Structured chat `json:"structured"`
		Declined   *struct {
			Status int    `json:"status"`
			Param  string `json:"param"`
		} `json:"declined"`
		Named, Required, None chat
		Legacy                struct {
			Object  string `json:"object"`
			Choices []struct {
				Text  string `json:"text"`
				Index int    `json:"index"`
			} `json:"choices"`
			Usage struct {
				TotalTokens int `json:"total_tokens"`
			} `json:"usage"`
		} `json:"legacy"`
		Streamed string `json:"streamed"`
		Usage    *struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	require.NoError(t, json.Unmarshal(stdout, &res), string(stdout))

	// Structured outputs: the SDK's parse() got a schema-valid object.
	msg := res.Structured.Choices[0].Message
	require.NotNil(t, msg.Content)
	requireSchemaValid(t, personSchema, *msg.Content)
	requireSchemaValid(t, personSchema, string(msg.Parsed))
	require.Contains(t, string(msg.Parsed), "Ada Lovelace")
	require.NotNil(t, res.Declined, "rampart-extractive must decline json_schema")
	require.Equal(t, http.StatusBadRequest, res.Declined.Status)
	require.Equal(t, "response_format", res.Declined.Param)

	// Forced tool choice: a call to the function with schema-valid
	// arguments (the dev stack's tool policy allows function tools).
	for name, c := range map[string]chat{"named": res.Named, "required": res.Required} {
		require.Equal(t, "tool_calls", c.Choices[0].FinishReason, name)
		require.Len(t, c.Choices[0].Message.ToolCalls, 1, name)
		call := c.Choices[0].Message.ToolCalls[0]
		require.Equal(t, "extract_person", call.Function.Name, name)
		requireSchemaValid(t, personSchema, call.Function.Arguments)
	}
	require.Empty(t, res.None.Choices[0].Message.ToolCalls)
	require.Equal(t, "call:extract_person {}", *res.None.Choices[0].Message.Content)

	// Legacy completions.
	require.Equal(t, "text_completion", res.Legacy.Object)
	require.Len(t, res.Legacy.Choices, 2)
	require.Equal(t, "Say this is a test", res.Legacy.Choices[0].Text)
	require.Equal(t, "and this", res.Legacy.Choices[1].Text)
	require.Equal(t, 1, res.Legacy.Choices[1].Index)
	require.Positive(t, res.Legacy.Usage.TotalTokens)
	require.Equal(t, "stream these words", res.Streamed)
	require.NotNil(t, res.Usage)
	require.Positive(t, res.Usage.TotalTokens)
}
