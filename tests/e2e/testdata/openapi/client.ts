// Type-checked against the types openapi-typescript generates from
// docs/api/openapi.json: fields as the edge sends them (snake_case), every
// field a REST response always carries typed as present (an empty list is
// [], not a missing member), request bodies that may leave fields out, the
// error body, and the Responses API object.
import type { components, paths } from "./rampart";

type WhoAmI = paths["/v1/whoami"]["get"]["responses"][200]["content"]["application/json"];
const who: WhoAmI = { key_id: "k1", tenant_id: "t1", subject: "", roles: [], scopes: ["chat:write"] };

// Lists and 64-bit integers (strings) are always there: no optional chaining.
type Keys = paths["/v1/keys"]["get"]["responses"][200]["content"]["application/json"];
const keys: Keys = { keys: [], next_page_token: "" };
const firstScopes: string[] = keys.keys.length > 0 ? keys.keys[0].scopes : [];
type Usage = paths["/v1/usage"]["get"]["responses"][200]["content"]["application/json"];
const tokens = (u: Usage): string[] => u.buckets.map((b) => b.total_tokens);

// A request body may leave out what a response always has.
type NewAssistant = NonNullable<paths["/v1/rampart/assistants"]["post"]["requestBody"]>["content"]["application/json"];
const assistant: NewAssistant = { name: "kb", model: "echo" };

type KeyError = paths["/v1/keys/{key_id}"]["get"]["responses"]["4XX"]["content"]["application/json"];
const err: KeyError = { error: { message: "no such key", type: "not_found_error", param: null, code: "not_found" } };

type ResponseObject = components["schemas"]["Response"];
const resp: Pick<ResponseObject, "object" | "store" | "status"> = { object: "response", store: false, status: "completed" };

type Chat = paths["/v1/chat/completions"]["post"]["requestBody"];
const chat: NonNullable<Chat>["content"]["application/json"] = { model: "echo", messages: [{ role: "user", content: "hi" }] };

console.log(who.key_id, firstScopes, tokens, assistant.name, err.error.code, resp.status, chat.model);
