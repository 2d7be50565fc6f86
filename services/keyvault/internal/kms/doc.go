// Package kms is keyvault's key hierarchy: a KMS provider holds one
// key-encryption key (KEK) per tenant and wraps data keys under it, bound to
// an encryption context; [Envelope] seals secret values with AES-256-GCM
// under a per-tenant data key whose additional data is tenant ‖ secret id ‖
// version id, so a ciphertext moved to another row, secret or tenant fails
// to open.
//
// Providers: [Local] (a master key file, 0600, in the data dir, with key
// versions; tenant KEKs wrapped under it and kept in the database) and
// [AWS] (AWS KMS GenerateDataKey/Decrypt with an encryption context).
// Destroying a tenant's KEK ([Provider.DestroyTenant]) crypto-shreds all
// of that tenant's data.
package kms
