// Package config is the inference service's typed configuration: the
// shared settings of pkg/config plus the model registry file, the tool
// policy file, the usage store and the auth address used to fetch the
// principal verification keys. Environment variables use the prefix
// RAMPART_INFERENCE_; flags of the same name in kebab case win.
package config
