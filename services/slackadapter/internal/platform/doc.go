// Package platform is the adapter's side of the other Rampart services over
// mTLS gRPC: auth (VerifyKey, CreateKey, and the revocation stream that
// drops the bot's cached assertions, [Revocations]), keyvault (read and
// write the adapter's secrets) and inference (ChatCompletion). Each call
// carries the principal assertion it is given; nothing here chooses a
// tenant.
package platform
