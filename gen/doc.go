// Package gen holds the code generated from proto/ by `make generate`
// (buf generate) and embeds the merged OpenAPI document. Do not edit the
// generated files; change the protos and regenerate.
package gen

import _ "embed"

// OpenAPI is the merged OpenAPI v2 document of every REST route.
//
//go:embed openapiv2/rampart.swagger.json
var OpenAPI []byte
