package restclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Client calls the edge with a bearer key.
type Client struct {
	BaseURL string
	Key     string
	HTTP    *http.Client
}

// New returns a client; baseURL like http://127.0.0.1:8080.
func New(baseURL, key string) (*Client, error) {
	if baseURL == "" {
		return nil, errors.New("no Rampart URL: set RAMPART_URL, pass --url, or run `rampart dev` to write dev.env")
	}
	if key == "" {
		return nil, errors.New("no API key: set RAMPART_API_KEY or RAMPART_ADMIN_KEY, or run `rampart dev` to write dev.env")
	}
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bad Rampart URL %q: want http(s)://host:port, e.g. http://127.0.0.1:8080", baseURL)
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Key: key, HTTP: &http.Client{Timeout: 60 * time.Second}}, nil
}

// APIError is an error response from the edge.
type APIError struct {
	Status  int
	Code    string
	Message string
	Param   string
}

func (e *APIError) Error() string {
	// A backend's message often starts with its code in words ("failed
	// precondition: only an active key ..."); once is enough.
	msg := strings.TrimPrefix(e.Message, strings.ReplaceAll(e.Code, "_", " ")+": ")
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, msg)
	if e.Param != "" {
		s += " (param " + e.Param + ")"
	}
	return s
}

// Do sends method path with body (nil, []byte or a value to marshal) and
// returns the raw response body on 2xx.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	u := c.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	return nil, apiError(resp.StatusCode, data)
}

// apiError decodes an error response of the edge (OpenAI or Google shape).
func apiError(status int, data []byte) error {
	var eb struct {
		Error struct {
			Message string `json:"message"`
			Code    any    `json:"code"`
			Param   any    `json:"param"`
		} `json:"error"`
	}
	apiErr := &APIError{Status: status, Message: strings.TrimSpace(string(data))}
	if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
		apiErr.Message = eb.Error.Message
		apiErr.Code = fmt.Sprint(eb.Error.Code)
		if eb.Error.Param != nil {
			apiErr.Param = fmt.Sprint(eb.Error.Param)
		}
	}
	return apiErr
}

// unreachable adds the likely cause to a connection refused: no stack
// running at RAMPART_URL (or a URL from an old dev.env).
func unreachable(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w (is the stack running, e.g. `make run`, and is RAMPART_URL its edge?)", err)
	}
	return err
}
