package inference

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// streamNative serves a streamed Responses request natively: the
// upstream's events are relayed as they arrive with Rampart's sequence
// numbers and response object; a function call is held until its
// output_item.done so the tool policy sees its whole arguments, and a
// call the policy strips is never sent (later items' output_index close
// the gap).
func (s *Service) streamNative(ctx context.Context, c *Caller, body []byte, req *wire.ResponsesRequest, send SendEvent) error {
	n, err := s.prepareNative(ctx, c, body, req)
	if err != nil {
		return err
	}
	ns := &nativeStream{ctx: ctx, s: s, c: c, n: n, send: send, headers: rateHeaders(n.r.st), index: map[int]int{}, held: map[int][]rawEvent{}}
	if n.g.noAnswer != "" {
		err = ns.fixed(n.g.noAnswer)
	} else {
		err = n.p.StreamResponses(ctx, n.upstream(), ns.event)
		if err != nil && ns.seq == 0 && s.nativeFallback(ctx, c, n, err) {
			err = n.p.StreamResponses(ctx, n.upstream(), ns.event)
		}
	}
	if err == nil && !ns.done {
		err = apierr.Unavailable("The upstream model's stream ended before it was complete; the answer may be cut short. Retry the request.", 0)
	}
	if err != nil {
		return s.streamErr(ctx, c, n.m, err)
	}
	return nil
}

// rawEvent is an upstream event: its type and its data as sent (members
// are replaced in place, wire.SetTop, not decoded and encoded again).
type rawEvent struct {
	typ  string
	data []byte
}

type nativeStream struct {
	// ctx is the call's: the policy audit, usage and store run under it.
	ctx     context.Context
	s       *Service
	c       *Caller
	n       *nativeCall
	send    SendEvent
	headers map[string]string
	seq     int
	resp    *wire.Response
	// index maps the upstream's output_index to the client's; held are
	// the events of function calls not yet complete, by upstream index.
	index map[int]int
	held  map[int][]rawEvent
	// done maps the client's output_index to the finished item.
	items map[int]wire.OutputItem
	next  int
	out   nativeOutput
	done  bool
}

// emit sends one event with the next sequence number.
func (ns *nativeStream) emit(e rawEvent) error {
	b, err := wire.SetTop(e.data, "sequence_number", strconv.AppendInt(nil, int64(ns.seq), 10))
	if err != nil {
		return fmt.Errorf("openai: bad %s event: %w", e.typ, err)
	}
	ns.seq++
	h := ns.headers
	ns.headers = nil
	if err := ns.send(e.typ, b, h); err != nil {
		return &errSend{err}
	}
	return nil
}

// emitResponse sends an event carrying the response object.
func (ns *nativeStream) emitResponse(typ string) error {
	b, err := json.Marshal(struct {
		Type           string         `json:"type"`
		SequenceNumber int            `json:"sequence_number"`
		Response       *wire.Response `json:"response"`
	}{typ, 0, ns.resp})
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return ns.emit(rawEvent{typ, b})
}

// start sends response.created and response.in_progress once.
func (ns *nativeStream) start() error {
	if ns.resp != nil {
		return nil
	}
	ns.resp = ns.n.req.NewResponse(newID("resp_"), ns.n.start.Unix())
	ns.resp.Model = ns.n.r.name(ns.n.m)
	ns.items = map[int]wire.OutputItem{}
	if err := ns.emitResponse("response.created"); err != nil {
		return err
	}
	return ns.emitResponse("response.in_progress")
}

// event handles one upstream event.
func (ns *nativeStream) event(ev *provider.Event) error {
	if err := ns.start(); err != nil {
		return err
	}
	e := rawEvent{ev.Type, ev.Data}
	switch ev.Type {
	case "response.created", "response.in_progress", "response.queued":
		return nil // sent by start, with Rampart's response object
	case "response.completed", "response.incomplete":
		var r struct {
			Response wire.NativeResponse `json:"response"`
		}
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			return fmt.Errorf("openai: bad %s event: %w", ev.Type, err)
		}
		return ns.complete(&r.Response)
	}
	raw, err := wire.TopValue(e.data, "output_index")
	if err != nil {
		return fmt.Errorf("openai: bad %s event: %w", ev.Type, err)
	}
	if raw == nil {
		return ns.emit(e)
	}
	ui, err := strconv.Atoi(string(raw))
	if err != nil {
		return fmt.Errorf("openai: bad output_index in %s", ev.Type)
	}
	if ev.Type == "response.output_item.added" && itemType(e.data) == "function_call" {
		ns.held[ui] = []rawEvent{e}
		return nil
	}
	if held, ok := ns.held[ui]; ok {
		ns.held[ui] = append(held, e)
		if ev.Type == "response.output_item.done" {
			return ns.release(ui, e.data)
		}
		return nil
	}
	if ev.Type == "response.output_item.added" {
		ns.index[ui] = ns.next
		ns.next++
	}
	if ev.Type == "response.output_item.done" {
		it, err := doneItem(e.data)
		if err != nil {
			return err
		}
		ns.items[ns.index[ui]] = it
	}
	return ns.relay(e, ui)
}

// doneItem decodes the item of an output_item.done event.
func doneItem(data []byte) (wire.OutputItem, error) {
	raw, err := wire.TopValue(data, "item")
	if err == nil && raw != nil {
		var it wire.OutputItem
		if it, err = wire.NativeOutputItem(raw); err == nil {
			return it, nil
		}
	}
	return wire.OutputItem{}, fmt.Errorf("openai: bad output item: %w", cmp.Or(err, errNoItem))
}

var errNoItem = errors.New("no item")

// relay sends an item event with the client's output_index.
func (ns *nativeStream) relay(e rawEvent, ui int) error {
	ci, ok := ns.index[ui]
	if !ok {
		return fmt.Errorf("openai: %s for output_index %d before its output_item.added", e.typ, ui)
	}
	b, err := wire.SetTop(e.data, "output_index", strconv.AppendInt(nil, int64(ci), 10))
	if err != nil {
		return fmt.Errorf("openai: bad %s event: %w", e.typ, err)
	}
	return ns.emit(rawEvent{e.typ, b})
}

// itemType is the type of an event's item.
func itemType(data []byte) string {
	raw, _ := wire.TopValue(data, "item")
	var it struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &it)
	return it.Type
}

// release decides a complete function call: allowed, its held events go
// out; stripped or held for confirmation, they are dropped.
func (ns *nativeStream) release(ui int, done []byte) error {
	held := ns.held[ui]
	delete(ns.held, ui)
	it, err := doneItem(done)
	if err != nil {
		return err
	}
	if !ns.s.allowCall(ns.ctx, ns.c, ns.n, &it, &ns.out) {
		return nil
	}
	ns.index[ui] = ns.next
	ns.next++
	ns.items[ns.index[ui]] = it
	for _, e := range held {
		if err := ns.relay(e, ui); err != nil {
			return err
		}
	}
	return nil
}

// fixed streams the fixed answer given when retrieval found nothing.
func (ns *nativeStream) fixed(text string) error {
	res, err := fixedNative(text)
	if err != nil {
		return err
	}
	if err := ns.start(); err != nil {
		return err
	}
	it, err := wire.NativeOutputItem(res.Output[0])
	if err != nil {
		return err
	}
	if err := ns.item(it); err != nil {
		return err
	}
	return ns.complete(res)
}

// item sends a whole item as output_item.added and output_item.done.
func (ns *nativeStream) item(it wire.OutputItem) error {
	ci := ns.next
	ns.next++
	ns.items[ci] = it
	added := it
	added.Raw, added.Status, added.Content = nil, "in_progress", nil
	a, err := json.Marshal(added)
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}
	if err := ns.emitItem("response.output_item.added", ci, a); err != nil {
		return err
	}
	d, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}
	return ns.emitItem("response.output_item.done", ci, d)
}

// emitItem sends an output_item event of Rampart's own.
func (ns *nativeStream) emitItem(typ string, ci int, item json.RawMessage) error {
	b, err := json.Marshal(struct {
		Type           string          `json:"type"`
		SequenceNumber int             `json:"sequence_number"`
		OutputIndex    int             `json:"output_index"`
		Item           json.RawMessage `json:"item"`
	}{typ, 0, ci, item})
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return ns.emit(rawEvent{typ, b})
}

// complete ends the stream: the items the client got become the output,
// usage is recorded and charged, the response stored when asked, and the
// terminal event sent with the whole response.
func (ns *nativeStream) complete(res *wire.NativeResponse) error {
	idx := make([]int, 0, len(ns.items))
	for i := range ns.items {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		ns.out.add(ns.items[i])
	}
	if !ns.out.answered {
		if err := ns.item(emptyMessage("completed")); err != nil {
			return err
		}
		ns.out.add(ns.items[ns.next-1])
	}
	s, c, n := ns.s, ns.c, ns.n
	resp := n.response(&ns.out)
	resp.ID, resp.CreatedAt = ns.resp.ID, ns.resp.CreatedAt
	resp.Status, resp.IncompleteDetails = res.Status, res.IncompleteDetails
	u := s.nativeUsage(n, res.Usage, &ns.out)
	resp.Usage = responsesUsage(res.Usage, u)
	ns.resp = resp
	ns.done = true
	ctx := ns.ctx
	s.finish(ctx, c, n.m, "responses_stream", u, n.start) // the tokens were spent, whatever happens next
	b, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	if err := s.storeResponse(ctx, c, n.req, resp, b); err != nil {
		return err
	}
	typ := "response.completed"
	if resp.Status == "incomplete" {
		typ = "response.incomplete"
	}
	if err := ns.emitResponse(typ); err != nil {
		return err
	}
	s.logPrompt(ctx, c, n.m, "responses", n.body, b)
	return nil
}
