package httperr

import "strings"

// RelativeTo returns e with its field path relative to the JSON body the
// client sent, for a route whose body is one field of the request message
// (google.api.http body: "assistant"): the client sent the assistant
// itself, so a backend's "assistant.top_k" is "top_k" to it, as the
// gateway's decoder already names it. A path that is the body field
// itself (the body as a whole) becomes no param; paths outside the body
// (path and query parameters) and messages not led by a path stay as they
// are. body "" or "*" (the whole request is the body) changes nothing.
func (e *Error) RelativeTo(body string) *Error {
	if body == "" || body == "*" || e == nil {
		return e
	}
	prefix := body + "."
	param, ok := relative(e.Param, body)
	msg := e.Message
	// A message led by the path ("assistant.collections[1]: ..."), or
	// several joined by errors.Join, one a line.
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, prefix):
			lines[i] = l[len(prefix):]
		case strings.HasPrefix(l, body+": "):
			lines[i] = "request body: " + l[len(body)+2:]
		}
	}
	msg = strings.Join(lines, "\n")
	if !ok && msg == e.Message {
		return e
	}
	c := *e
	c.Message = msg
	if ok {
		c.Param = param
	}
	return &c
}

// relative is path relative to body, and whether it was under it.
func relative(path, body string) (string, bool) {
	switch {
	case path == body:
		return "", true
	case strings.HasPrefix(path, body+"."):
		return path[len(body)+1:], true
	}
	return path, false
}
