// Package authclient is keyvault's client of auth for the rampart-api-key
// rotation function: it verifies a stored key (VerifyKey) to obtain a
// principal assertion acting as that key, and with it reads and rotates the
// key through KeyService (docs/adr/0009-keyvault-rotates-api-keys.md).
// Errors carry auth's status code and message, never a key.
package authclient
