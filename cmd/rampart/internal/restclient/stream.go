package restclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Stream posts body to path and calls onEvent with the data of each
// server-sent event until "data: [DONE]" or the end of the response. A
// non-2xx answer is an *APIError. There is no overall timeout: cancel ctx.
func (c *Client) Stream(ctx context.Context, path string, body any, onEvent func(data []byte) error) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	stream, err := c.openStream(req)
	if err != nil {
		return err
	}
	defer stream.Close()
	sc := lines(stream)
	for sc.Scan() {
		payload, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if payload == "[DONE]" {
			return nil
		}
		if err := onEvent([]byte(payload)); err != nil {
			return err
		}
	}
	return sc.Err()
}

// StreamError is an error object inside a stream of newline-delimited
// JSON after it started (grpc-gateway's {"error": {code, message}}, code
// being the gRPC code).
type StreamError struct {
	Code    int
	Message string
}

func (e *StreamError) Error() string {
	return fmt.Sprintf("stream error (gRPC code %d): %s", e.Code, e.Message)
}

// StreamJSON sends GET path and calls onResult with the "result" of each
// line of a newline-delimited JSON stream (the REST form of a gRPC server
// stream) until the response ends. A non-2xx answer is an *APIError, an
// {"error": …} line a *StreamError. There is no overall timeout: cancel
// ctx.
func (c *Client) StreamJSON(ctx context.Context, path string, onResult func(result json.RawMessage) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return err
	}
	stream, err := c.openStream(req)
	if err != nil {
		return err
	}
	defer stream.Close()
	sc := lines(stream)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m struct {
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			return fmt.Errorf("unexpected stream line: %w", err)
		}
		if m.Error != nil {
			return &StreamError{Code: m.Error.Code, Message: m.Error.Message}
		}
		if err := onResult(m.Result); err != nil {
			return err
		}
	}
	return sc.Err()
}

// openStream sends req with the client's key and no overall timeout (a
// stream lasts as long as what it follows) and returns the body of a 2xx
// answer; another status is an *APIError.
func (c *Client) openStream(req *http.Request) (io.ReadCloser, error) {
	req.Header.Set("Authorization", "Bearer "+c.Key)
	hc := *c.HTTP
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, apiError(resp.StatusCode, msg)
	}
	return resp.Body, nil
}

// lines scans a stream's lines, up to 4 MiB each.
func lines(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	return sc
}
