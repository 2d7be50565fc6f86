// Type-checked against the types openapi-typescript generates from
// docs/api/openapi.json: fields as the edge sends them (snake_case), the
// error body, and the Responses API object.
import type { components, paths } from "./rampart";

type WhoAmI = paths["/v1/whoami"]["get"]["responses"][200]["content"]["application/json"];
const who: WhoAmI = { key_id: "k1", tenant_id: "t1", scopes: ["chat:write"] };

type KeyError = paths["/v1/keys/{key_id}"]["get"]["responses"]["4XX"]["content"]["application/json"];
const err: KeyError = { error: { message: "no such key", type: "not_found_error", param: null, code: "not_found" } };

type ResponseObject = components["schemas"]["Response"];
const resp: Pick<ResponseObject, "object" | "store" | "status"> = { object: "response", store: false, status: "completed" };

type Chat = paths["/v1/chat/completions"]["post"]["requestBody"];
const chat: NonNullable<Chat>["content"]["application/json"] = { model: "echo", messages: [{ role: "user", content: "hi" }] };

console.log(who.key_id, err.error.code, resp.status, chat.model);
