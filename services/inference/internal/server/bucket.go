package server

import (
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

func bucket(b store.Bucket) *inferencev1.UsageBucket {
	return &inferencev1.UsageBucket{
		Group: b.Group, Requests: b.Requests,
		PromptTokens: b.PromptTokens, CompletionTokens: b.CompletionTokens,
		TotalTokens: b.PromptTokens + b.CompletionTokens, CostMicroUsd: b.CostMicroUSD,
	}
}
