// Package collectioncheck is the one check that the collections a
// definition names (an assistant, a Slack binding) exist in the caller's
// tenant: the caller lists its tenant's collections through ingestion on
// the verified principal, and a name missing from that list — or another
// tenant's — is refused before anything naming it is stored.
package collectioncheck
