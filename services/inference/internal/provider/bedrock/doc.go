// Package bedrock is the provider for Amazon Bedrock through aws-sdk-go-v2's
// bedrockruntime: chat via Converse and ConverseStream (system prompts,
// messages, tools with toolUse/toolResult, stop reasons and usage mapped
// to and from OpenAI's shapes) and embeddings via InvokeModel for Titan
// (amazon.titan-embed-*) and Cohere (cohere.embed-*) models.
//
// Credentials come from the SDK's default chain (environment, shared
// config, IMDS/ECS role). Throttling and 5xx are retried by the SDK's
// standard retryer with exponential backoff. An endpoint override points
// the client at a VPC endpoint or, in tests, at the in-repo fake.
//
// Differences from OpenAI: tool_choice "none" still sends the tool
// definitions (Bedrock needs them when the history holds tool use) and
// relies on the model not calling them; seed, response_format and user
// are not forwarded.
package bedrock
