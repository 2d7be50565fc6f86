// Package awsclient holds what every AWS SDK client of Rampart's shares:
// today one HTTP client wrapper, HTTPClient, that keeps net/http from
// closing a connection under a response still being read.
package awsclient
