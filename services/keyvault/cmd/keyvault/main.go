// Command keyvault is Rampart's secrets vault and KMS: AWS Secrets Manager
// semantics, envelope encryption, rotation and audit, over mTLS gRPC.
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/keyvault/internal/app"
)

func main() { backend.Main("keyvault", app.Run) }
