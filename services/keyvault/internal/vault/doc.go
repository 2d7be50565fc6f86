// Package vault is keyvault's domain logic: AWS Secrets Manager semantics
// (versions, staging labels, idempotent client request tokens, deletion
// window), envelope encryption of values, the access policy, fail-closed
// auditing and rotation. It knows nothing of gRPC: the server package
// translates requests and maps [Error] kinds to status codes.
package vault
