package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResponsesAPIWithNodeSDK drives /v1/responses on the dev stack with
// the official Node SDK: responses.create with a string and with items,
// a function tool round trip (call, then its output as an input item),
// responses.parse with a json_schema text format, responses.stream with its
// events in order and the final usage, stored responses ("store": true,
// previous_response_id chaining, responses.retrieve and responses.delete),
// and the refusals of what Rampart does not serve (hosted tools) or does
// not have (an unknown previous_response_id: 404).
func TestResponsesAPIWithNodeSDK(t *testing.T) {
	sdk := nodeWithOpenAI(t)
	s := startStack(t)
	var key createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", s.env["RAMPART_ADMIN_KEY"],
		map[string]any{"name": "responses-contract", "scopes": []string{"chat:write"}}, &key))

	script := `
const { OpenAI } = require("openai");
(async () => {
  const c = new OpenAI({ baseURL: process.env.BASE_URL + "/v1", apiKey: process.env.KEY, maxRetries: 0 });
  const schema = JSON.parse(process.env.SCHEMA);
  const text = await c.responses.create({ model: "echo", instructions: "be terse", input: "Say this is a test" });
  const tools = [{ type: "function", name: "extract_person", description: "record a person", parameters: schema, strict: true }];
  const input = [{ role: "user", content: [{ type: "input_text", text: "Ada Lovelace" }] }];
  const call = await c.responses.create({ model: "echo", input, tools, tool_choice: "required" });
  const fc = call.output.find((o) => o.type === "function_call");
  const roundTrip = await c.responses.create({ model: "echo", tools,
    input: [...input, fc, { type: "function_call_output", call_id: fc.call_id, output: "recorded" }, { role: "user", content: "done" }] });
  const parsed = await c.responses.parse({ model: "echo", input: "Ada Lovelace",
    text: { format: { type: "json_schema", name: "person", strict: true, schema } } });
  const stream = c.responses.stream({ model: "echo", input: "stream these words" });
  const events = [];
  let deltas = "";
  for await (const ev of stream) {
    events.push(ev.type);
    if (ev.type === "response.output_text.delta") deltas += ev.delta;
  }
  const final = await stream.finalResponse();
  const stored = await c.responses.create({ model: "echo", store: true, input: "remember the canary" });
  const chained = await c.responses.create({ model: "echo", previous_response_id: stored.id,
    input: [{ role: "assistant", content: "noted" }] });
  const retrieved = await c.responses.retrieve(stored.id);
  const chainedStored = await c.responses.create({ model: "echo", store: true, previous_response_id: stored.id, input: "and the second" });
  const items = [];
  for await (const it of c.responses.inputItems.list(chainedStored.id, { order: "asc", limit: 1 })) {
    items.push({ type: it.type, role: it.role, text: it.content[0].text, part: it.content[0].type });
  }
  let cancel = null;
  try { await c.responses.cancel(chainedStored.id); } catch (e) { cancel = { status: e.status, message: e.error?.message ?? e.message }; }
  const deleted = await c.responses.delete(stored.id);
  let afterDelete = null;
  try { await c.responses.retrieve(stored.id); } catch (e) { afterDelete = e.status; }
  const refusals = [];
  for (const body of [
    { model: "echo", input: "x", tools: [{ type: "web_search_preview" }] },
    { model: "echo", input: "x", previous_response_id: "resp_unknown" },
    { model: "echo", input: [{ role: "user", content: "x" }, { type: "item_reference", id: "msg_1" }] },
  ]) {
    try { await c.responses.create(body); refusals.push(null); } catch (e) { refusals.push({ status: e.status, param: e.param, code: e.code }); }
  }
  console.log(JSON.stringify({ text: { output_text: text.output_text, status: text.status, usage: text.usage },
    fc, roundTrip: roundTrip.output_text, parsed: parsed.output_parsed, events, deltas,
    final: { status: final.status, usage: final.usage, text: final.output[0].content[0].text }, refusals,
    stored: { id: stored.id, store: stored.store, text: stored.output_text }, chained: chained.output_text,
    retrieved: { id: retrieved.id, text: retrieved.output_text }, deleted: deleted ?? null, afterDelete, items, cancel }));
})().catch((e) => { console.error(e); process.exit(1); });
`
	stdout := sdk.run(t, script, "BASE_URL="+s.baseURL, "KEY="+key.APIKey, "SCHEMA="+personSchema)

	type usage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	}
	var res struct {
		Text struct {
			OutputText string `json:"output_text"`
			Status     string `json:"status"`
			Usage      usage  `json:"usage"`
		} `json:"text"`
		FC struct {
			Type      string `json:"type"`
			Name      string `json:"name"`
			CallID    string `json:"call_id"`
			Arguments string `json:"arguments"`
		} `json:"fc"`
		RoundTrip string          `json:"roundTrip"`
		Parsed    json.RawMessage `json:"parsed"`
		Events    []string        `json:"events"`
		Deltas    string          `json:"deltas"`
		Final     struct {
			Status string `json:"status"`
			Usage  *usage `json:"usage"`
			Text   string `json:"text"`
		} `json:"final"`
		Stored struct {
			ID    string `json:"id"`
			Store bool   `json:"store"`
			Text  string `json:"text"`
		} `json:"stored"`
		Chained   string `json:"chained"`
		Retrieved struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		} `json:"retrieved"`
		Deleted     json.RawMessage `json:"deleted"`
		AfterDelete int             `json:"afterDelete"`
		Items       []struct {
			Type, Role, Text, Part string
		} `json:"items"`
		Cancel *struct {
			Status  int    `json:"status"`
			Message string `json:"message"`
		} `json:"cancel"`
		Refusals []*struct {
			Status int    `json:"status"`
			Param  string `json:"param"`
			Code   string `json:"code"`
		} `json:"refusals"`
	}
	require.NoError(t, json.Unmarshal(stdout, &res), string(stdout))

	require.Equal(t, "Say this is a test", res.Text.OutputText)
	require.Equal(t, "completed", res.Text.Status)
	require.Positive(t, res.Text.Usage.InputTokens)
	require.Equal(t, res.Text.Usage.InputTokens+res.Text.Usage.OutputTokens, res.Text.Usage.TotalTokens)

	require.Equal(t, "function_call", res.FC.Type)
	require.Equal(t, "extract_person", res.FC.Name)
	require.NotEmpty(t, res.FC.CallID)
	requireSchemaValid(t, personSchema, res.FC.Arguments)
	require.Equal(t, "done", res.RoundTrip)

	requireSchemaValid(t, personSchema, string(res.Parsed))
	require.Contains(t, string(res.Parsed), "Ada Lovelace")

	require.Equal(t, []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"}, res.Events[:4])
	require.Equal(t, []string{"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}, res.Events[len(res.Events)-4:])
	require.Equal(t, "stream these words", res.Deltas)
	require.Equal(t, "stream these words", res.Final.Text)
	require.Equal(t, "completed", res.Final.Status)
	require.NotNil(t, res.Final.Usage)
	require.Positive(t, res.Final.Usage.TotalTokens)

	require.True(t, res.Stored.Store)
	require.Equal(t, "remember the canary", res.Stored.Text)
	require.Equal(t, "remember the canary", res.Chained, "answered from the previous response's input")
	require.Equal(t, res.Stored.ID, res.Retrieved.ID)
	require.Equal(t, res.Stored.Text, res.Retrieved.Text)
	if len(res.Deleted) > 0 && string(res.Deleted) != "null" { // SDK versions return the deletion object or nothing
		require.JSONEq(t, `{"id":"`+res.Stored.ID+`","object":"response","deleted":true}`, string(res.Deleted))
	}
	require.Equal(t, http.StatusNotFound, res.AfterDelete)

	// inputItems.list pages one item at a time (after = the last id) through
	// the chained response's context, oldest first with order asc.
	require.Len(t, res.Items, 3, "%+v", res.Items)
	for i, want := range []struct{ role, text, part string }{
		{"user", "remember the canary", "input_text"}, {"assistant", res.Stored.Text, "output_text"}, {"user", "and the second", "input_text"}} {
		require.Equal(t, "message", res.Items[i].Type)
		require.Equal(t, want.role, res.Items[i].Role)
		require.Equal(t, want.text, res.Items[i].Text)
		require.Equal(t, want.part, res.Items[i].Part)
	}
	require.NotNil(t, res.Cancel, "cancel of a response not created in the background is refused")
	require.Equal(t, http.StatusBadRequest, res.Cancel.Status)
	require.Equal(t, "Cannot cancel a synchronous response.", res.Cancel.Message)

	require.Len(t, res.Refusals, 3)
	for i, want := range []struct {
		status      int
		param, code string
	}{{http.StatusBadRequest, "tools[0].type", "unsupported_value"}, {http.StatusNotFound, "previous_response_id", "previous_response_not_found"},
		{http.StatusBadRequest, "input[1].type", "unsupported_value"}} {
		require.NotNil(t, res.Refusals[i], "request %d must be refused", i)
		require.Equal(t, want.status, res.Refusals[i].Status)
		require.Equal(t, want.param, res.Refusals[i].Param)
		require.Equal(t, want.code, res.Refusals[i].Code)
	}
}
