package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The edge writes every REST response with protojson's EmitDefaultValues
// (services/edge/internal/gateway.MarshalOptions, ADR 0070): a field
// without presence (a scalar, an enum, a list, a map) is always written,
// even at its zero value; a message field, a oneof member or a proto3
// optional field only when set. requiredFields says so in the document:
// each schema of a response body generated from a message lists the
// former as required, so a client generated from the document types them
// as always there (keys: ApiKey[], not keys?: ApiKey[]).
//
// A schema that is also (part of) a request body keeps no such list for
// the request (a client may leave those fields out): requests refer to a
// copy named <schema>Input instead.

// loadMessages reads a FileDescriptorSet (buf build -o x.binpb) and maps
// each schema name protoc-gen-openapiv2 may have given a message to it:
// the name's components from some depth on, the first as it is and the
// others capitalised ("v1ApiKey", "rampartAuthV1RotateKeyResponse"). A
// name more than one message could have is left out.
func loadMessages(path string) (map[string]protoreflect.MessageDescriptor, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("descriptors of %s: %w", path, err)
	}
	byName := map[string][]protoreflect.MessageDescriptor{}
	var add func(protoreflect.MessageDescriptors)
	add = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			m := ms.Get(i)
			parts := strings.Split(string(m.FullName()), ".")
			for k := range parts {
				name := parts[k]
				for _, p := range parts[k+1:] {
					name += strings.ToUpper(p[:1]) + p[1:]
				}
				byName[name] = append(byName[name], m)
			}
			add(m.Messages())
		}
	}
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		add(f.Messages())
		return true
	})
	out := map[string]protoreflect.MessageDescriptor{}
	for name, ms := range byName {
		if len(ms) == 1 {
			out[name] = ms[0]
		}
	}
	return out, nil
}

// requiredFields sets the required lists of the response schemas
// generated from messages (see above).
func requiredFields(doc *openapi3.T, messages map[string]protoreflect.MessageDescriptor) error {
	schemas := doc.Components.Schemas
	always := func(name string) []string {
		md, ok := messages[name]
		s := schemas[name]
		if !ok || s == nil || s.Value == nil || len(s.Value.Properties) == 0 {
			return nil
		}
		var req []string
		for i := range md.Fields().Len() {
			fd := md.Fields().Get(i)
			if _, listed := s.Value.Properties[string(fd.Name())]; listed && !fd.HasPresence() {
				req = append(req, string(fd.Name()))
			}
		}
		return req
	}
	inRequests, inResponses := reach(doc)
	// Request copies of the shared schemas that get a list.
	renamed := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(inRequests)) {
		if inResponses[name] && len(always(name)) > 0 {
			in := name + "Input"
			if _, taken := schemas[in]; taken {
				return fmt.Errorf("schema %s exists: cannot name the request copy of %s", in, name)
			}
			renamed[name] = in
		}
	}
	for name, in := range renamed {
		c, err := deepCopy(schemas[name].Value)
		if err != nil {
			return err
		}
		schemas[in] = &openapi3.SchemaRef{Value: c}
	}
	// Requests, the schemas only they use and the copies refer to copies.
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					mt.Schema = retarget(mt.Schema, renamed)
				}
			}
		}
	}
	targets := map[string]bool{}
	for name := range inRequests {
		targets[name] = !inResponses[name]
	}
	for _, in := range renamed {
		targets[in] = true
	}
	for name, ok := range targets {
		if s := schemas[name]; ok && s != nil {
			retargetWithin(s.Value, renamed, map[*openapi3.Schema]bool{})
		}
	}
	for name := range inResponses {
		if req := always(name); len(req) > 0 {
			schemas[name].Value.Required = req
		}
	}
	return nil
}

// reach lists the component schemas reachable from request bodies and
// from responses.
func reach(doc *openapi3.T) (inRequests, inResponses map[string]bool) {
	inRequests, inResponses = map[string]bool{}, map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walkRefs(doc, mt.Schema, inRequests)
				}
			}
			if op.Responses == nil {
				continue
			}
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					walkRefs(doc, mt.Schema, inResponses)
				}
			}
		}
	}
	return inRequests, inResponses
}

const schemaRefPrefix = "#/components/schemas/"

// walkRefs adds every component schema r refers to, transitively.
func walkRefs(doc *openapi3.T, r *openapi3.SchemaRef, seen map[string]bool) {
	if r == nil {
		return
	}
	if name, ok := strings.CutPrefix(r.Ref, schemaRefPrefix); ok {
		if seen[name] {
			return
		}
		seen[name] = true
		if s := doc.Components.Schemas[name]; s != nil {
			walkRefs(doc, &openapi3.SchemaRef{Value: s.Value}, seen)
		}
		return
	}
	for _, c := range children(r.Value) {
		walkRefs(doc, c, seen)
	}
}

// children are the schemas s is made of.
func children(s *openapi3.Schema) []*openapi3.SchemaRef {
	if s == nil {
		return nil
	}
	out := []*openapi3.SchemaRef{s.Items, s.AdditionalProperties.Schema, s.Not}
	for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
		out = append(out, s.Properties[k])
	}
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	return append(out, s.OneOf...)
}

// retarget returns r, or a reference to the renamed schema r refers to.
func retarget(r *openapi3.SchemaRef, renamed map[string]string) *openapi3.SchemaRef {
	if r == nil {
		return nil
	}
	if name, ok := strings.CutPrefix(r.Ref, schemaRefPrefix); ok {
		if in, ok := renamed[name]; ok {
			return &openapi3.SchemaRef{Ref: schemaRefPrefix + in}
		}
		return r
	}
	retargetWithin(r.Value, renamed, map[*openapi3.Schema]bool{})
	return r
}

// retargetWithin points s's own parts (not those of schemas it refers
// to) at the renamed schemas.
func retargetWithin(s *openapi3.Schema, renamed map[string]string, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	s.Items = retarget(s.Items, renamed)
	s.AdditionalProperties.Schema = retarget(s.AdditionalProperties.Schema, renamed)
	for k, p := range s.Properties {
		s.Properties[k] = retarget(p, renamed)
	}
	for _, l := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
		for i := range l {
			l[i] = retarget(l[i], renamed)
		}
	}
}

// deepCopy copies a schema through its JSON form; references stay
// references.
func deepCopy(s *openapi3.Schema) (*openapi3.Schema, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var c openapi3.Schema
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
