// Package awssm is keyvault's AWS backend: secrets live in AWS Secrets
// Manager (aws-sdk-go-v2), parameters are read from SSM Parameter Store, and
// values that are {{resolve:...}} references are resolved (pkg/secrets/refs).
// It implements the same SecretsService operations as the sql backend where
// AWS offers them — with keyvault's policy, validation and fail-closed audit
// in front — and answers Unimplemented for rotation, which AWS runs through
// Lambda functions keyvault does not manage.
//
// Tenancy: a tenant's secret /{env}/{service}/{type}/{name} is stored as
// rampart/<tenant>/{env}/... and its parameters under /rampart/<tenant>/...;
// a name in another tenant's space is simply not found.
package awssm
