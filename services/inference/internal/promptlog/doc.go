// Package promptlog stores chat requests and responses for tenants that
// turned prompt logging on (registry "prompt_logging": true; off by
// default), encrypted with the tenant's data key: one AES-256 key per
// tenant made by keyvault's KmsService.GenerateDataKey, stored only wrapped
// (next to the logs) and unwrapped with KmsService.Decrypt, both called
// with the caller's principal so keyvault binds the key to that tenant.
// Each entry is sealed with AES-256-GCM, AAD = tenant ‖ 0 ‖ request id, so a
// row copied to another tenant or request does not open. Plaintext never
// reaches the database or the logs; a tenant reads its own entries back
// (decrypted) and gets NotFound for anyone else's.
package promptlog
