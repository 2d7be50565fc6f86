// Package gen holds the code generated from proto/ by `make generate`
// (buf generate, then tools/openapi) and embeds the edge's OpenAPI document. Do not edit the
// generated files; change the protos and regenerate.
package gen

import _ "embed"

// OpenAPI is the edge's OpenAPI 3.1 document: every REST route (converted
// from protoc-gen-openapiv2's merged Swagger 2.0 by tools/openapi) plus the
// OpenAI-compatible and operational routes. docs/api/openapi.json is a copy.
//
//go:embed openapi/rampart.json
var OpenAPI []byte
