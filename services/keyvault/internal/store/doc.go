// Package store is keyvault's SQL layer: secrets, versions, staging labels,
// tags, wrapped data keys, tenant KEKs and scheduler leases. Every query on
// tenant data is scoped by tenant id; multi-statement changes run in one
// transaction ([Store.InTx]) so nothing is ever half-written. Values are
// stored only as ciphertext sealed by package kms.
package store
