// Package refs parses and resolves CloudFormation-style dynamic references
// to secrets:
//
//	{{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}
//	{{resolve:ssm-secure:parameter-name:version}}
//	{{resolve:ssm:parameter-name:version}}
//
// Trailing segments are optional. A Parameter Store value that is itself a
// secretsmanager reference resolves through Secrets Manager (the Slack bot
// pattern: functions read SSM, SSM points at the secret). Both
// keyvault and pkg/secrets use it.
package refs
