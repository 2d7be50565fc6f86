package awsfake

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type paramVersion struct {
	value    string
	typ      string
	version  int64
	modified time.Time
}

type param struct {
	name     string
	versions []paramVersion // version i+1 at index i
}

func init() {
	register("AmazonSSM.GetParameter", (*Fake).ssmGet)
	register("AmazonSSM.PutParameter", (*Fake).ssmPut)
}

func paramNotFound() *apiError {
	return errorf(http.StatusBadRequest, "ParameterNotFound", "Parameter not found.")
}

// PutParameter stores a parameter directly (test setup without the SDK).
func (f *Fake) PutParameter(name, value, typ string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.putParam(name, value, typ)
}

func (f *Fake) putParam(name, value, typ string) int64 {
	p := f.params[name]
	if p == nil {
		p = &param{name: name}
		f.params[name] = p
	}
	v := int64(len(p.versions) + 1)
	p.versions = append(p.versions, paramVersion{value: value, typ: typ, version: v, modified: f.Now().UTC()})
	return v
}

func (f *Fake) ssmPut(body []byte) (any, *apiError) {
	var in struct {
		Name      string `json:"Name"`
		Value     string `json:"Value"`
		Type      string `json:"Type"`
		Overwrite bool   `json:"Overwrite"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" || len(in.Name) > 2048 {
		return nil, errorf(http.StatusBadRequest, "ValidationException", "Name must be 1-2048 characters")
	}
	switch in.Type {
	case "", "String", "StringList", "SecureString":
	default:
		return nil, errorf(http.StatusBadRequest, "ValidationException", "unknown Type %q", in.Type)
	}
	p := f.params[in.Name]
	if p != nil && !in.Overwrite {
		return nil, errorf(http.StatusBadRequest, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	typ := in.Type
	if typ == "" {
		if p == nil {
			return nil, errorf(http.StatusBadRequest, "ValidationException", "Type is required for a new parameter")
		}
		typ = p.versions[len(p.versions)-1].typ
	}
	return map[string]any{"Version": f.putParam(in.Name, in.Value, typ), "Tier": "Standard"}, nil
}

func (f *Fake) ssmGet(body []byte) (any, *apiError) {
	var in struct {
		Name           string `json:"Name"`
		WithDecryption bool   `json:"WithDecryption"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, sel, hasSel := strings.Cut(in.Name, ":")
	p := f.params[name]
	if p == nil {
		return nil, paramNotFound()
	}
	v := p.versions[len(p.versions)-1]
	if hasSel {
		n, err := strconv.ParseInt(sel, 10, 64)
		if err != nil || n < 1 || n > int64(len(p.versions)) {
			return nil, errorf(http.StatusBadRequest, "ParameterVersionNotFound", "Systems Manager could not find version %s of %s.", sel, name)
		}
		v = p.versions[n-1]
	}
	value := v.value
	if v.typ == "SecureString" && !in.WithDecryption {
		// Real SSM returns the KMS ciphertext; an opaque stand-in will do.
		value = "AQICAH" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", len(v.value))))
	}
	return map[string]any{"Parameter": map[string]any{
		"Name": name, "Type": v.typ, "Value": value, "Version": v.version, "LastModifiedDate": epoch(v.modified),
		"ARN": "arn:aws:ssm:us-east-1:000000000000:parameter/" + strings.TrimPrefix(name, "/"), "DataType": "text",
		"Selector": selector(hasSel, sel),
	}}, nil
}

func selector(has bool, sel string) any {
	if !has {
		return nil
	}
	return ":" + sel
}
