package httperr

import (
	"net/http"
	"regexp"
	"strconv"
)

// BodyFieldError is a REST request body value of the wrong JSON type, or
// an enum name the field does not have, found by the gateway's decoder
// (protojson's own error names neither the field's path nor what it
// expects). grpc-gateway keeps only the error's text (it wraps it in an
// InvalidArgument status), so Error writes a fixed form that FromGRPC
// parses back into a 400 naming the field.
type BodyFieldError struct {
	Field string // path in proto names: "top_k", "limits.rpm", "collections[1]"
	Msg   string // what the value must be: "must be an integer"
}

const bodyFieldPrefix = "request body field "

// bodyFieldRE matches BodyFieldError's text.
var bodyFieldRE = regexp.MustCompile(`^request body field ("(?:[^"\\]|\\.){1,300}"): (.{1,1000})$`)

func (e *BodyFieldError) Error() string {
	return bodyFieldPrefix + strconv.Quote(e.Field) + ": " + e.Msg
}

// bodyField is the client error for a status message in BodyFieldError's
// form, else nil.
func bodyField(msg string) *Error {
	m := bodyFieldRE.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	if field, err := strconv.Unquote(m[1]); err == nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Param: field, Message: field + ": " + m[2]}
	}
	return nil
}
