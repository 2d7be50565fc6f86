// Package awssm is the pkg/secrets Source backed by AWS Secrets Manager and
// SSM Parameter Store (aws-sdk-go-v2). Names are Secrets Manager secret ids;
// "ssm:<parameter>" reads a parameter (SecureString decrypted) and a
// "{{resolve:...}}" reference is resolved (see pkg/secrets/refs) — a
// parameter whose value is a secretsmanager reference resolves through
// Secrets Manager (functions read SSM, SSM points at the secret).
package awssm
