// Package pkiops lays out a Rampart PKI directory: the dev CA and one
// certificate per service, renewed when they come close to expiry. It is
// what `rampart pki init` and `rampart dev` run.
package pkiops
