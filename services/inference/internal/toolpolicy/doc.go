// Package toolpolicy is the MCP tool-call allow-list: per tenant
// (and optionally narrowed per API key) the tool names a request may offer a
// model, each with a JSON Schema its arguments must satisfy and whether a
// human must confirm a call before it runs.
//
// Default deny: a tenant without a policy (and no default policy) may not
// offer any tool. A request offering a tool outside the allow-list is
// refused (400 tool_not_allowed, naming tools[i].function.name). Tool calls
// the model proposes are checked again: calls to tools outside the list or
// with arguments failing the schema are stripped from the response and
// reported; calls to tools marked requires_confirmation are moved out of
// message.tool_calls into rampart.requires_confirmation so an agent loop
// does not execute them blindly. The service audits every decision.
//
// Schemas are compiled once at load; $ref to remote URLs is not fetched.
package toolpolicy
