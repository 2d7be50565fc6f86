package gateway

import (
	"strings"

	apiannotations "google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// BodyField is the request field a REST route's JSON body fills, by the
// route's full RPC method name ("/rampart.inference.v1.InferenceService/
// CreateAssistant" → "assistant"), read from the method's google.api.http
// option: "*" when the body is the whole request, "" when the route takes
// no body or the method is unknown. The error handler makes field paths
// relative to it (httperr.Error.RelativeTo). Only error paths call it.
func BodyField(rpcMethod string) string {
	svc, method, ok := strings.Cut(strings.TrimPrefix(rpcMethod, "/"), "/")
	if !ok {
		return ""
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return ""
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return ""
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return ""
	}
	rule, _ := proto.GetExtension(md.Options(), apiannotations.E_Http).(*apiannotations.HttpRule)
	return rule.GetBody()
}
