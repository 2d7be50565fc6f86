// Command openapi writes the edge's one OpenAPI 3.1 document: the Swagger
// 2.0 document protoc-gen-openapiv2 generates from the protos (every REST
// route of the gateway), converted with kin-openapi's openapi2conv and
// openapi3conv, with Rampart's title, the bearer security scheme, the error
// body the edge really sends ({"error":{message,type,param,code}}) instead
// of google.rpc.Status, and the routes the edge serves itself
// (openai.json: the OpenAI-compatible routes and the operational ones),
// and, read from the protos' descriptors, the fields every response
// carries listed as required (required.go).
// `make generate` runs it; the edge embeds the result (gen.OpenAPI) and
// docs/api/openapi.json is a copy, so both are identical.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3conv"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// openaiFragment holds the paths and schemas of the routes the edge serves
// without the gateway, already in OpenAPI 3.1 form.
//
//go:embed openai.json
var openaiFragment []byte

// version is the OpenAPI version written. openapi3conv upgrades to the
// newest 3.x it knows; the document uses nothing beyond 3.1, and 3.1 is
// what code generators and linters accept today.
const version = "3.1.0"

// publicPaths need no API key (pkg/permissions: the public routes).
var publicPaths = map[string]bool{"/healthz": true, "/readyz": true, "/openapi.json": true}

func main() {
	in := flag.String("in", "", "the Swagger 2.0 document protoc-gen-openapiv2 wrote")
	out := flag.String("out", "", "where to write the OpenAPI 3.1 document")
	descriptors := flag.String("descriptors", "", "the protos' FileDescriptorSet (buf build -o x.binpb), for the response schemas' required fields")
	flag.Parse()
	if *in == "" || *out == "" || *descriptors == "" {
		fmt.Fprintln(os.Stderr, "usage: openapi -in rampart.swagger.json -descriptors protos.binpb -out rampart.openapi.json")
		os.Exit(2)
	}
	if err := run(*in, *descriptors, *out); err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
}

func run(in, descriptors, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	messages, err := loadMessages(descriptors)
	if err != nil {
		return err
	}
	b, err := convert(raw, messages)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644) //nolint:gosec // a generated, committed document
}

func convert(swagger []byte, messages map[string]protoreflect.MessageDescriptor) ([]byte, error) {
	var v2 openapi2.T
	if err := json.Unmarshal(swagger, &v2); err != nil {
		return nil, fmt.Errorf("parse the Swagger 2.0 document: %w", err)
	}
	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("convert to OpenAPI 3: %w", err)
	}
	doc.Info = &openapi3.Info{
		Title:   "Rampart API",
		Version: "v1",
		Description: "Every HTTP route the Rampart edge serves: the REST routes of the services (generated from the protos; " +
			"field names as the edge sends them), the OpenAI-compatible routes (the subset Rampart serves, with its " +
			"`rampart` extension objects; docs/openai-compatibility.md) and the operational routes. Every error is " +
			"`{\"error\":{\"message\",\"type\",\"param\",\"code\"}}`.",
	}
	doc.Tags = nil
	// Relative: the document describes the edge that serves it.
	doc.Servers = openapi3.Servers{{URL: "/", Description: "the Rampart edge serving this document"}}
	// openapi3conv rewrites only what differs between 3.0 and 3.1 (nullable,
	// boolean exclusive bounds, example); it needs a valid document, so the
	// converted one is checked first, as 3.0.
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the converted 3.0 document is invalid: %w", err)
	}
	openapi3conv.Upgrade(doc)
	doc.OpenAPI = version
	if err := addFragment(doc); err != nil {
		return nil, err
	}
	if err := errorBodies(doc); err != nil {
		return nil, err
	}
	if err := requiredFields(doc, messages); err != nil {
		return nil, err
	}
	security(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	// Check the result as a reader would load it.
	check, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("reload the written document: %w", err)
	}
	if err := check.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the written document is invalid: %w", err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		return nil, err
	}
	pretty.WriteByte('\n')
	return pretty.Bytes(), nil
}

// addFragment merges the edge's own routes and their schemas.
func addFragment(doc *openapi3.T) error {
	var frag struct {
		Paths      map[string]*openapi3.PathItem `json:"paths"`
		Components openapi3.Components           `json:"components"`
	}
	if err := json.Unmarshal(openaiFragment, &frag); err != nil {
		return fmt.Errorf("parse openai.json: %w", err)
	}
	for _, p := range slices.Sorted(maps.Keys(frag.Paths)) {
		if doc.Paths.Value(p) != nil {
			return fmt.Errorf("openai.json: path %s is also generated from the protos", p)
		}
		doc.Paths.Set(p, frag.Paths[p])
	}
	if doc.Components.Schemas == nil {
		doc.Components.Schemas = openapi3.Schemas{}
	}
	for name, s := range frag.Components.Schemas {
		if _, dup := doc.Components.Schemas[name]; dup {
			return fmt.Errorf("openai.json: schema %s is also generated from the protos", name)
		}
		doc.Components.Schemas[name] = s
	}
	if doc.Components.Responses == nil {
		doc.Components.Responses = openapi3.ResponseBodies{}
	}
	maps.Copy(doc.Components.Responses, frag.Components.Responses)
	if _, ok := doc.Components.Schemas["Error"]; !ok {
		return errors.New("openai.json must define the Error schema")
	}
	return nil
}

// errorBodies replaces google.rpc.Status, which protoc-gen-openapiv2
// documents as every operation's default response, with the edge's error
// body: the edge never sends a Status.
func errorBodies(doc *openapi3.T) error {
	ref := &openapi3.ResponseRef{Ref: "#/components/responses/Error"}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Responses == nil {
				op.Responses = openapi3.NewResponses()
			}
			// 4XX and 5XX name the error classes explicitly (linters and
			// generators type them); default covers anything else.
			op.Responses.Set("4XX", ref)
			op.Responses.Set("5XX", ref)
			op.Responses.Set("default", ref)
		}
	}
	// A streamed REST route's chunks keep {"result","error"}, whose error
	// after the first chunk is grpc-gateway's Status (the HTTP status is
	// already sent): rpcStatus stays while such a route refers to it.
	b, err := json.Marshal(doc.Paths)
	if err != nil {
		return fmt.Errorf("encode paths: %w", err)
	}
	if !bytes.Contains(b, []byte(`"#/components/schemas/rpcStatus"`)) {
		delete(doc.Components.Schemas, "rpcStatus")
		delete(doc.Components.Schemas, "protobufAny")
	}
	return nil
}

// security names the bearer scheme every route but the public ones needs.
func security(doc *openapi3.T) {
	if doc.Components.SecuritySchemes == nil {
		doc.Components.SecuritySchemes = openapi3.SecuritySchemes{}
	}
	doc.Components.SecuritySchemes["bearer"] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
		Type: "http", Scheme: "bearer", Description: "An API key: `Authorization: Bearer rk_...`.",
	}}
	doc.Security = openapi3.SecurityRequirements{{"bearer": []string{}}}
	for p, item := range doc.Paths.Map() {
		if !publicPaths[p] && !strings.HasPrefix(p, "/slack/") {
			continue
		}
		for _, op := range item.Operations() {
			op.Security = &openapi3.SecurityRequirements{}
		}
	}
}
