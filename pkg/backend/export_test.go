package backend

// IdempotentMethods exposes idempotentMethods to the external tests.
var IdempotentMethods = idempotentMethods
