package middleware

import "github.com/rampart-platform/rampart/services/edge/internal/reqstate"

// recorder is the access log's response writer, kept in the request's
// State (reqstate.Recorder).
type recorder = reqstate.Recorder
