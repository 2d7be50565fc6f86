package httperr

import (
	"net/http"
	"regexp"
	"strings"
)

// queryParamRE matches grpc-gateway's error for a query parameter whose
// value does not parse as its field's type ("parsing field \"page_size\":
// strconv.ParseInt: parsing \"abc\": invalid syntax").
var queryParamRE = regexp.MustCompile(`(?s)^parsing field "([A-Za-z0-9_.]{1,128})": (.*)$`)

// queryParam is the client error for such a message, naming the parameter
// and what its value must be, without echoing the value or Go's parser
// (the message may be a credential sent in the wrong place); nil for any
// other message.
func queryParam(msg string) *Error {
	m := queryParamRE.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	want := "is not a valid value for this parameter"
	switch detail := m[2]; {
	case strings.Contains(detail, "value out of range"):
		want = "is out of range"
	case strings.Contains(detail, "strconv.ParseBool"):
		want = "must be true or false"
	case strings.Contains(detail, "strconv.ParseInt"), strings.Contains(detail, "strconv.ParseUint"):
		want = "must be an integer"
	case strings.Contains(detail, "strconv.ParseFloat"):
		want = "must be a number"
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Param: m[1], Message: m[1] + ": " + want + " (query parameter)"}
}
