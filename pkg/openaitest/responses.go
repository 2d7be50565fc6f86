package openaitest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// lastUserInput is the text of the last user message of a Responses
// request's input (a string, or items whose content is a string or
// input_text parts).
func lastUserInput(req *fakeReq) string {
	switch in := req.Input.(type) {
	case string:
		return in
	case []any:
		for i := len(in) - 1; i >= 0; i-- {
			it, _ := in[i].(map[string]any)
			if it["role"] != "user" {
				continue
			}
			switch c := it["content"].(type) {
			case string:
				return c
			case []any:
				var b strings.Builder
				for _, p := range c {
					part, _ := p.(map[string]any)
					s, _ := part["text"].(string)
					b.WriteString(s)
				}
				return b.String()
			}
		}
	}
	return ""
}

// inputReasoning counts the reasoning items of a Responses request's
// input that carry encrypted_content, and those that do not.
func inputReasoning(req *fakeReq) (encrypted, bare int) {
	in, _ := req.Input.([]any)
	for _, v := range in {
		it, _ := v.(map[string]any)
		if it["type"] != "reasoning" {
			continue
		}
		if s, _ := it["encrypted_content"].(string); s != "" {
			encrypted++
		} else {
			bare++
		}
	}
	return encrypted, bare
}

// responses answers like OpenAI's POST /v1/responses: the last user input
// echoed as one message (after a reasoning item when "reasoning" is set),
// or a function call for "call:<name> <json>" when tools are offered;
// "badparam" is OpenAI's 400 for a bad parameter; "errorevent" streams a
// delta and then an error event. Like OpenAI's with store false (what
// Rampart always sends), the reasoning item has encrypted_content only
// when include asks for it ("enc-fake-<n>"), and a reasoning input item
// without it is 404 (nothing was stored to find by its id); the summary
// says how many encrypted reasoning items came back in the input.
func (f *Upstream) responses(w http.ResponseWriter, req *fakeReq) {
	text := lastUserInput(req)
	encrypted, bare := inputReasoning(req)
	if text == "badparam" || bare > 0 {
		status, body := http.StatusBadRequest, `{"error":{"message":"Invalid value for 'temperature': must be at most 2.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`
		if bare > 0 {
			status, body = http.StatusNotFound, `{"error":{"message":"Item with id 'rs_fake1' not found. Items are not persisted when `+"`store`"+` is set to false.","type":"invalid_request_error","param":"input","code":null}}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return
	}
	var items []string // output items, complete
	summary := "thought about it"
	if encrypted > 0 {
		summary = fmt.Sprintf("thought about it again (%d earlier)", encrypted)
	}
	if len(req.Reasoning) > 0 {
		enc := ""
		if slices.Contains(req.Include, "reasoning.encrypted_content") {
			enc = fmt.Sprintf(`,"encrypted_content":"enc-fake-%d"`, encrypted+1)
		}
		items = append(items, `{"type":"reasoning","id":"rs_fake1","summary":[{"type":"summary_text","text":`+jsonString(summary)+`}]`+enc+`}`)
	}
	var call struct{ name, args string }
	if rest, ok := strings.CutPrefix(text, "call:"); ok && len(req.Tools) > 0 {
		call.name, call.args, _ = strings.Cut(rest, " ")
		items = append(items, `{"type":"function_call","id":"fc_fake1","call_id":"call_fake_1","name":`+jsonString(call.name)+`,"arguments":`+jsonString(call.args)+`,"status":"completed"}`)
	} else {
		items = append(items, `{"type":"message","id":"msg_fake1","status":"completed","role":"assistant","content":[{"type":"output_text","text":`+jsonString(text)+`,"annotations":[]}]}`)
	}
	input, output := 20+len(text)/4+len(req.Instructions)/4, 2+len(strings.Fields(text))
	usage := fmt.Sprintf(`{"input_tokens":%d,"input_tokens_details":{"cached_tokens":0},"output_tokens":%d,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":%d}`,
		input, output, input+output)
	response := func(status, output, usage string) string {
		return `{"id":"resp_upstream0123456789abcdef","object":"response","created_at":1741476542,"status":"` + status +
			`","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":` + jsonString(req.Model) +
			`,"output":[` + output + `],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},` +
			`"store":false,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled",` +
			`"usage":` + usage + `,"user":null,"metadata":{}}`
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(response("completed", strings.Join(items, ","), usage)))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	seq := 0
	event := func(typ, fields string) {
		fmt.Fprintf(w, "event: %s\ndata: {\"type\":%q,\"sequence_number\":%d,%s}\n\n", typ, typ, seq, fields)
		seq++
		if fl != nil {
			fl.Flush()
		}
	}
	event("response.created", `"response":`+response("in_progress", "", "null"))
	event("response.in_progress", `"response":`+response("in_progress", "", "null"))
	for i, it := range items {
		if !streamItem(event, i, it, call.name, call.args, text, summary) {
			return
		}
	}
	event("response.completed", `"response":`+response("completed", strings.Join(items, ","), usage))
}

// streamItem sends the events of output item it (at index i) of a streamed
// response; false when the stream ended in an error event ("errorevent").
func streamItem(event func(typ, fields string), i int, it, callName, callArgs, text, summary string) bool {
	idx := fmt.Sprintf(`"output_index":%d`, i)
	switch {
	case strings.Contains(it, `"type":"reasoning"`):
		// OpenAI's sequence: the summary part is announced before its
		// text (SDK accumulators index into it) and closed after.
		sum := idx + `,"item_id":"rs_fake1","summary_index":0`
		event("response.output_item.added", idx+`,"item":{"type":"reasoning","id":"rs_fake1","summary":[]}`)
		event("response.reasoning_summary_part.added", sum+`,"part":{"type":"summary_text","text":""}`)
		event("response.reasoning_summary_text.delta", sum+`,"delta":`+jsonString(summary))
		event("response.reasoning_summary_text.done", sum+`,"text":`+jsonString(summary))
		event("response.reasoning_summary_part.done", sum+`,"part":{"type":"summary_text","text":`+jsonString(summary)+`}`)
		event("response.output_item.done", idx+`,"item":`+it)
	case callName != "":
		half := len(callArgs) / 2
		event("response.output_item.added", idx+`,"item":{"type":"function_call","id":"fc_fake1","call_id":"call_fake_1","name":`+jsonString(callName)+`,"arguments":"","status":"in_progress"}`)
		event("response.function_call_arguments.delta", idx+`,"item_id":"fc_fake1","delta":`+jsonString(callArgs[:half]))
		event("response.function_call_arguments.delta", idx+`,"item_id":"fc_fake1","delta":`+jsonString(callArgs[half:]))
		event("response.function_call_arguments.done", idx+`,"item_id":"fc_fake1","arguments":`+jsonString(callArgs))
		event("response.output_item.done", idx+`,"item":`+it)
	default:
		part := `"item_id":"msg_fake1",` + idx + `,"content_index":0`
		event("response.output_item.added", idx+`,"item":{"type":"message","id":"msg_fake1","status":"in_progress","role":"assistant","content":[]}`)
		event("response.content_part.added", part+`,"part":{"type":"output_text","text":"","annotations":[]}`)
		for j, word := range strings.SplitAfter(text, " ") {
			event("response.output_text.delta", part+`,"delta":`+jsonString(word)+`,"logprobs":[]`)
			if j == 0 && text == "errorevent" {
				event("error", `"code":"server_error","message":"The server had an error for org-fake-secret","param":null`)
				return false
			}
		}
		event("response.output_text.done", part+`,"text":`+jsonString(text)+`,"logprobs":[]`)
		event("response.content_part.done", part+`,"part":{"type":"output_text","text":`+jsonString(text)+`,"annotations":[]}`)
		event("response.output_item.done", idx+`,"item":`+it)
	}
	return true
}
