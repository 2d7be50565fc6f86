// Package restclient is the CLI's small client for the edge's REST API: the
// base URL and key come from flags, the environment, or dev.env, and error
// bodies are turned into readable errors.
package restclient
