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
	// Unknown: Field is no field of the request (its last element as the
	// client spelled it); Msg is unused. protojson names only the key.
	Unknown bool
}

const bodyFieldPrefix = "request body field "

// bodyFieldRE matches BodyFieldError's text.
var bodyFieldRE = regexp.MustCompile(`^request body field ("(?:[^"\\]|\\.){1,300}"): (.{1,1000})$`)

// unknownMsg stands for Msg in the text of an Unknown BodyFieldError.
const unknownMsg = "is not a field of this request"

func (e *BodyFieldError) Error() string {
	if e.Unknown {
		return bodyFieldPrefix + strconv.Quote(e.Field) + ": " + unknownMsg
	}
	return bodyFieldPrefix + strconv.Quote(e.Field) + ": " + e.Msg
}

// bodyField is the client error for a status message in BodyFieldError's
// form, else nil.
func bodyField(msg string) *Error {
	m := bodyFieldRE.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	// The pattern admits only a quoted string strconv.Quote could write.
	field, _ := strconv.Unquote(m[1])
	switch {
	case field == "":
		return nil
	case m[2] == unknownMsg:
		return &Error{Status: http.StatusBadRequest, Code: CodeUnknownField, Param: field,
			Message: "unknown field " + strconv.Quote(field) + " in request body"}
	default:
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Param: field, Message: field + ": " + m[2]}
	}
}
