// Conformance of Rampart's OpenAI-compatible API with the official Node SDK
// (npm "openai"). Run by tests/e2e TestOpenAIConformance/NodeSDK with
// RAMPART_URL and RAMPART_KEY set.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.RAMPART_URL + '/v1', apiKey: process.env.RAMPART_KEY, maxRetries: 0 });

// A response header of an APIError: 4.x keeps them in a plain object,
// later majors in a Headers.
const header = (err, name) => (typeof err.headers?.get === 'function' ? err.headers.get(name) : err.headers?.[name]) ?? null;

async function expectError(promise, status, type, code, param) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, `not an APIError: ${err}`);
    assert.equal(err.status, status);
    assert.equal(err.type, type);
    assert.equal(err.code, code);
    assert.equal(err.param ?? null, param);
    // The id to quote in a support request: x-request-id, on errors too
    // (request_id in 4.x, requestID later).
    assert.match(err.requestID ?? err.request_id ?? '', /^[0-9a-f]{32}$/, 'the SDK reads x-request-id');
    return err;
  }
  assert.fail('expected an error');
}

for (const model of ['echo', 'gpt-fake', 'gpt-native']) {
  const chat = await client.chat.completions.create({
    model, messages: [{ role: 'system', content: 'be terse' }, { role: 'user', content: 'hello from node' }], temperature: 0.1,
  });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices[0].message.content, 'hello from node');
  assert.ok(chat.usage.total_tokens > 0);
  // An upstream's usage details come through as it sent them (the fake
  // sends OpenAI's: half the prompt cached, half the completion reasoning);
  // echo counts its own and has none (ADR 0117).
  const details = (u) => model === 'echo'
    ? assert.ok(u.prompt_tokens_details == null && u.completion_tokens_details == null, 'no details on a counted usage')
    : (assert.equal(u.prompt_tokens_details.cached_tokens, Math.floor(u.prompt_tokens / 2)),
      assert.equal(u.completion_tokens_details.reasoning_tokens, Math.floor(u.completion_tokens / 2)));
  details(chat.usage);

  const stream = await client.chat.completions.create({
    model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'streamed from node' }],
  });
  let text = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      finish = c.finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, 'streamed from node');
  assert.equal(finish, 'stop');
  assert.ok(usage.total_tokens > 0);
  details(usage);

  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const call = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: 'call:get_weather {"city":"Lima"}' }] });
  assert.equal(call.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(JSON.parse(call.choices[0].message.tool_calls[0].function.arguments), { city: 'Lima' });
  // The SDKs' multi-turn pattern: the answer's message goes back as it
  // came (refusal: null and all), then the tool's result.
  const turn = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: 'call:get_weather {"city":"Lima"}' },
    call.choices[0].message, { role: 'tool', tool_call_id: call.choices[0].message.tool_calls[0].id, content: '18 C' }, { role: 'user', content: 'thanks' }] });
  assert.equal(turn.choices[0].message.content, 'thanks');
  const again = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello from node' },
    chat.choices[0].message, { role: 'user', content: 'and again' }] });
  assert.equal(again.choices[0].message.content, 'and again');

  // Responses API: mapped to chat in inference, for local and upstream
  // models alike; gpt-native's upstream serves it itself (pass-through).
  const resp = await client.responses.create({ model, instructions: 'be terse', input: 'hello responses' });
  assert.equal(resp.object, 'response');
  assert.equal(resp.status, 'completed');
  assert.equal(resp.output_text, 'hello responses');
  assert.ok(resp.usage.total_tokens > 0);
  assert.equal(resp.usage.total_tokens, resp.usage.input_tokens + resp.usage.output_tokens);
  if (model === 'gpt-fake') { // translated: the chat answer's details, as cached and reasoning tokens (ADR 0117)
    assert.equal(resp.usage.input_tokens_details.cached_tokens, Math.floor(resp.usage.input_tokens / 2));
    assert.equal(resp.usage.output_tokens_details.reasoning_tokens, Math.floor(resp.usage.output_tokens / 2));
  }

  const rtools = [{ type: 'function', name: 'get_weather', strict: false, parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
  const input = [{ role: 'user', content: 'call:get_weather {"city":"Lima"}' }];
  const rcall = await client.responses.create({ model, tools: rtools, input });
  const fc = rcall.output.find((o) => o.type === 'function_call');
  assert.ok(fc, JSON.stringify(rcall.output));
  assert.equal(fc.name, 'get_weather');
  assert.deepEqual(JSON.parse(fc.arguments), { city: 'Lima' });
  // The round trip: the call and its output go back as input items.
  const after = await client.responses.create({ model, tools: rtools,
    input: [...input, ...rcall.output, { type: 'function_call_output', call_id: fc.call_id, output: '18 C' }, { role: 'user', content: 'thanks' }] });
  assert.equal(after.output_text, 'thanks');

  const rs = client.responses.stream({ model, input: [{ role: 'user', content: [{ type: 'input_text', text: 'streamed responses' }] }] });
  const types = [];
  let rtext = '';
  for await (const ev of rs) {
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') rtext += ev.delta;
  }
  const final = await rs.finalResponse();
  assert.equal(rtext, 'streamed responses');
  assert.equal(final.output[0].content[0].text, 'streamed responses');
  assert.ok(final.usage.total_tokens > 0, 'response.completed carries usage');
  assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
  assert.equal(types.at(-1), 'response.completed');
}

// Native pass-through keeps the upstream's reasoning items, streamed too.
const native = await client.responses.create({ model: 'gpt-native', reasoning: { effort: 'low' }, input: 'think first' });
assert.deepEqual(native.output.map((o) => o.type), ['reasoning', 'message']);
assert.equal(native.output[0].summary[0].text, 'thought about it');
assert.equal(native.output_text, 'think first');
const ns = client.responses.stream({ model: 'gpt-native', reasoning: { effort: 'low' }, input: 'think while streaming' });
let summary = '';
for await (const ev of ns) {
  if (ev.type === 'response.reasoning_summary_text.delta') summary += ev.delta;
}
assert.equal(summary, 'thought about it');
const nfinal = await ns.finalResponse();
assert.deepEqual(nfinal.output.map((o) => o.type), ['reasoning', 'message']);
assert.equal(nfinal.output[1].content[0].text, 'think while streaming');

// Stateless reasoning, as OpenAI documents it for store false (what Rampart
// always sends upstream): include reasoning.encrypted_content, then send
// the output back as input; the reasoning item goes back upstream in place.
const think = { model: 'gpt-native', reasoning: { effort: 'low' }, include: ['reasoning.encrypted_content'] };
const r1 = await client.responses.create({ ...think, input: [{ role: 'user', content: 'think' }] });
assert.equal(r1.output[0].encrypted_content, 'enc-fake-1');
const r2 = await client.responses.create({ ...think, input: [{ role: 'user', content: 'think' }, ...r1.output, { role: 'user', content: 'think again' }] });
assert.equal(r2.output[0].summary[0].text, 'thought about it again (1 earlier)');
assert.equal(r2.output_text, 'think again');
// The chat path has no reasoning to include nor to take back, and serves
// no logprobs.
const viaChat = await client.responses.create({ model: 'echo', include: ['reasoning.encrypted_content'], input: [{ role: 'user', content: 'think' }, ...r1.output, { role: 'user', content: 'via chat' }] });
assert.equal(viaChat.output_text, 'via chat');
await expectError(client.responses.create({ model: 'echo', input: 'x', include: ['message.output_text.logprobs'] }), 400, 'invalid_request_error', 'unsupported_value', 'include[0]');

// A Responses stream broken mid-way ends with an error event numbered
// after the events before it. 5.x and 6.x yield it (a ResponseErrorEvent);
// 4.x and 7.x throw it as an APIError (7.x with the event as err.error).
const broken = [];
let thrown = null;
try {
  for await (const ev of await client.responses.create({ model: 'gpt-fake', stream: true, input: 'badchunk' })) broken.push(ev);
} catch (err) { thrown = err; }
if (thrown) {
  assert.ok(thrown instanceof OpenAI.APIError, `not an APIError: ${thrown}`);
  assert.match(thrown.message, /interrupted by a server error/);
} else {
  assert.equal(broken.at(-1).type, 'error');
}
const errorEvent = thrown ? thrown.error : broken.pop();
if (errorEvent) {
  assert.equal(errorEvent.code, 'upstream_unavailable');
  assert.equal(errorEvent.sequence_number, broken.length, 'the error event is numbered after the events before it');
}
assert.deepEqual(broken.map((e) => e.sequence_number), broken.map((_, i) => i), 'sequence_number counts every event from 0');
assert.ok(broken.some((e) => e.type === 'response.output_text.delta' && e.delta === 'partial'));

// Responses API structured output: parse() reads text.format json_schema.
const person = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false };
const parsed = await client.responses.parse({ model: 'echo', input: 'Ada', text: { format: { type: 'json_schema', name: 'person', strict: true, schema: person } } });
assert.equal(typeof parsed.output_parsed.name, 'string');
assert.equal(typeof parsed.output_parsed.age, 'number');
await expectError(client.responses.create({ model: 'echo', input: 'x', tools: [{ type: 'web_search_preview' }] }), 400, 'invalid_request_error', 'unsupported_value', 'tools[0].type');
await expectError(client.responses.create({ model: 'echo', input: [{ role: 'user', content: 'x' }, { role: 'user', content: 'y' }, { role: 'user', content: 42 }] }), 400, 'invalid_request_error', 'invalid_argument', 'input[2].content');

// The Node SDK asks for base64 embeddings by default and decodes them.
const emb = await client.embeddings.create({ model: 'rampart-hash-embed', input: ['alpha', 'beta gamma'], dimensions: 16 });
assert.equal(emb.data.length, 2);
assert.equal(emb.data[0].embedding.length, 16);
const norm = Math.sqrt(emb.data[1].embedding.reduce((s, x) => s + x * x, 0));
assert.ok(Math.abs(norm - 1) < 1e-5, `not normalized: ${norm}`);

const models = [];
for await (const m of client.models.list()) models.push(m.id);
assert.ok(models.includes('echo') && models.includes('gpt-fake'));
assert.equal((await client.models.retrieve('echo')).id, 'echo');

// What a client keeps for support: the SDK reads x-request-id into _request_id.
const { data: withHeaders, response: raw } = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'ids' }] }).withResponse();
assert.match(withHeaders._request_id ?? '', /\S/, 'the SDK finds a request id');
assert.equal(withHeaders._request_id, raw.headers.get('x-request-id'));
assert.ok(raw.headers.get('x-ratelimit-limit-requests'), 'rate limit headers');

// Without stream_options no chunk carries usage; with include_usage the
// last chunk has usage and no choices, and the SDK's stream helper
// assembles the completion from the chunks.
let usageSeen = false;
for await (const chunk of await client.chat.completions.create({ model: 'echo', stream: true, messages: [{ role: 'user', content: 'no usage' }] })) {
  usageSeen ||= chunk.usage != null;
  assert.equal(chunk.object, 'chat.completion.chunk');
}
assert.equal(usageSeen, false, 'usage only when include_usage is asked for');
const chunks = [];
for await (const chunk of await client.chat.completions.create({ model: 'echo', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'with usage' }] })) chunks.push(chunk);
const last = chunks.at(-1);
assert.deepEqual(last.choices, []);
assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
assert.ok(chunks.slice(0, -1).every((c) => c.usage == null && c.choices.length === 1), 'usage on the last chunk only');
// 4.x has the stream helper under beta.
const helper = (client.chat.completions.stream ? client.chat.completions : client.beta.chat.completions).stream({ model: 'echo', stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'helper stream' }] });
let deltas = '';
helper.on('content', (delta) => { deltas += delta; });
const assembled = await helper.finalChatCompletion();
assert.equal(deltas, 'helper stream');
assert.equal(assembled.choices[0].message.content, 'helper stream');
assert.equal(assembled.choices[0].finish_reason, 'stop');
assert.ok(assembled.usage.total_tokens > 0);

// Explicit float embeddings, as an SDK user may ask for them.
const floats = await client.embeddings.create({ model: 'rampart-hash-embed', input: 'alpha', encoding_format: 'float' });
assert.equal(floats.object, 'list');
assert.equal(floats.data[0].object, 'embedding');
assert.ok(Array.isArray(floats.data[0].embedding) && floats.data[0].embedding.length > 0);
assert.ok(floats.usage.prompt_tokens > 0);

// Errors: the SDK's class per status, and OpenAI's type, code and param.
const typed = async (promise, cls, status, type, code, param) => {
  const err = await expectError(promise, status, type, code, param);
  assert.ok(err instanceof cls, `${err.constructor.name} is not ${cls.name}`);
  return err;
};
const user = [{ role: 'user', content: 'hello there, a message of some length' }];
const other = (key) => new OpenAI({ baseURL: process.env.RAMPART_URL + '/v1', apiKey: key, maxRetries: 0 });
await typed(other('rk_not_a_key_the_stack_issued').chat.completions.create({ model: 'echo', messages: user }), OpenAI.AuthenticationError, 401, 'authentication_error', 'invalid_api_key', null);
await typed(other(process.env.RAMPART_EMBED_ONLY_KEY).chat.completions.create({ model: 'echo', messages: user }), OpenAI.PermissionDeniedError, 403, 'permission_error', 'insufficient_scope', null);
await typed(other(process.env.RAMPART_NARROW_KEY).chat.completions.create({ model: 'gpt-fake', messages: user }), OpenAI.PermissionDeniedError, 403, 'invalid_request_error', 'model_not_allowed', 'model');
await typed(client.chat.completions.create({ model: 'nope', stream: true, messages: user }), OpenAI.NotFoundError, 404, 'invalid_request_error', 'model_not_found', 'model');
await typed(client.embeddings.create({ model: 'rampart-hash-embed', input: 'x', dimensions: 0 }), OpenAI.BadRequestError, 400, 'invalid_request_error', 'invalid_argument', 'dimensions');
// A key of 1 request per minute: refused within its burst's few calls.
const rpm = other(process.env.RAMPART_RPM_KEY);
let refused = null;
for (let i = 0; i < 10 && !refused; i++) {
  try { await rpm.models.list(); } catch (err) { refused = err; }
}
const limited = await typed(Promise.reject(refused), OpenAI.RateLimitError, 429, 'requests', 'rate_limit_exceeded', null);
assert.ok(Number(header(limited, 'retry-after')) >= 1, 'Retry-After in whole seconds');
const tpm = other(process.env.RAMPART_TPM_KEY);
await tpm.chat.completions.create({ model: 'echo', messages: user });
const tokens = await typed(tpm.chat.completions.create({ model: 'echo', messages: user }), OpenAI.RateLimitError, 429, 'tokens', 'rate_limit_exceeded', null);
assert.ok(header(tokens, 'retry-after'));

// The SDK retries a 429 as its version decides (after Retry-After, which
// 6.x waits out however long, 4.x, 5.x and 7.x only up to a minute, else
// after a backoff of a second or so) unless told not to: a spent monthly
// budget says X-Should-Retry: false and is raised after one request.
let fetches = 0;
const budget = new OpenAI({ baseURL: process.env.RAMPART_URL + '/v1', apiKey: process.env.RAMPART_BUDGET_KEY, maxRetries: 2,
  fetch: (url, init) => { fetches++; return fetch(url, init); } });
await budget.chat.completions.create({ model: 'echo', messages: user });
fetches = 0;
const spent = await typed(budget.chat.completions.create({ model: 'echo', messages: user }), OpenAI.RateLimitError, 429, 'insufficient_quota', 'insufficient_quota', null);
assert.equal(header(spent, 'x-should-retry'), 'false');
assert.equal(fetches, 1, 'a spent budget is not retried');

// The Responses API answers the same errors the same way, streamed or not.
await typed(client.responses.create({ model: 'nope', input: 'x' }), OpenAI.NotFoundError, 404, 'invalid_request_error', 'model_not_found', 'model');
await typed(client.responses.create({ model: 'nope', input: 'x', stream: true }), OpenAI.NotFoundError, 404, 'invalid_request_error', 'model_not_found', 'model');
await typed(other('rk_not_a_key_the_stack_issued').responses.create({ model: 'echo', input: 'x' }), OpenAI.AuthenticationError, 401, 'authentication_error', 'invalid_api_key', null);
await typed(other(process.env.RAMPART_EMBED_ONLY_KEY).responses.create({ model: 'echo', input: 'x' }), OpenAI.PermissionDeniedError, 403, 'permission_error', 'insufficient_scope', null);
await typed(other(process.env.RAMPART_NARROW_KEY).responses.create({ model: 'gpt-fake', input: 'x' }), OpenAI.PermissionDeniedError, 403, 'invalid_request_error', 'model_not_allowed', 'model');

// An upstream failing after the stream began: the SDK yields what came,
// then throws the error event as an APIError (no [DONE], no "stop").
for (const script of ['badchunk', 'nodone']) {
  let partial = '';
  let finishSeen = null;
  const midStream = (async () => {
    for await (const c of await client.chat.completions.create({ model: 'gpt-fake', stream: true, messages: [{ role: 'user', content: script }] })) {
      partial += c.choices[0]?.delta?.content ?? '';
      finishSeen = c.choices[0]?.finish_reason ?? finishSeen;
    }
  })();
  let midErr = null;
  try { await midStream; } catch (err) { midErr = err; }
  assert.ok(midErr instanceof OpenAI.APIError, `${script}: not an APIError: ${midErr}`);
  assert.equal(midErr.type, 'server_error');
  if (script === 'nodone') assert.equal(midErr.code, 'upstream_unavailable');
  assert.ok(midErr.message, 'the error event has a message');
  assert.notEqual(finishSeen, 'stop', `${script}: never a clean end`);
  if (script === 'badchunk') assert.match(partial, /partial/);
}

// Routes and methods Rampart does not serve, as the SDK meets them.
await typed(client.files.list(), OpenAI.NotFoundError, 404, 'not_found_error', 'not_found', null);
// 4.x names delete methods del.
await expectError((client.models.delete ?? client.models.del).call(client.models, 'echo'), 405, 'invalid_request_error', 'method_not_allowed', null);

await expectError(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), 404, 'invalid_request_error', 'model_not_found', 'model');
await expectError(client.chat.completions.create({ model: 'echo', n: 9, messages: [{ role: 'user', content: 'x' }] }), 400, 'invalid_request_error', 'invalid_argument', 'n');

// n > 1 (ADR 0120): choices indexed 0..n-1 with usage of them all; an
// upstream model gets n (the fake's choice i adds " #i"), echo answers n
// times. Streamed, each chunk names its choice, and the SDK's stream
// helper assembles every choice (it needs each one's role and finish).
for (const model of ['echo', 'gpt-fake']) {
  const want = (i) => (model === 'echo' || i === 0 ? 'two choices' : `two choices #${i}`);
  const one = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'two choices' }] });
  const two = await client.chat.completions.create({ model, n: 2, messages: [{ role: 'user', content: 'two choices' }] });
  assert.deepEqual(two.choices.map((c) => [c.index, c.message.content, c.finish_reason]), [[0, want(0), 'stop'], [1, want(1), 'stop']]);
  assert.ok(two.usage.completion_tokens >= 2 * one.usage.completion_tokens, 'usage counts both choices');
  const texts = ['', ''];
  for await (const chunk of await client.chat.completions.create({ model, n: 2, stream: true, messages: [{ role: 'user', content: 'two choices' }] })) {
    for (const c of chunk.choices) texts[c.index] += c.delta.content ?? '';
  }
  assert.deepEqual(texts, [want(0), want(1)]);
  const nh = (client.chat.completions.stream ? client.chat.completions : client.beta.chat.completions).stream({ model, n: 2, messages: [{ role: 'user', content: 'two choices' }] });
  const both = await nh.finalChatCompletion();
  assert.deepEqual(both.choices.map((c) => [c.index, c.message.content, c.finish_reason]), [[0, want(0), 'stop'], [1, want(1), 'stop']]);
}

// logprobs from an upstream model, in OpenAI's shape (answer and chunks);
// a model whose provider has none refuses them naming the parameter.
const lp = await client.chat.completions.create({ model: 'gpt-fake', logprobs: true, top_logprobs: 2, messages: [{ role: 'user', content: 'log probs' }] });
assert.deepEqual(lp.choices[0].logprobs.content.map((t) => t.token), ['log ', 'probs']);
assert.equal(lp.choices[0].logprobs.content[0].top_logprobs.length, 2);
const streamedTokens = [];
for await (const chunk of await client.chat.completions.create({ model: 'gpt-fake', logprobs: true, stream: true, messages: [{ role: 'user', content: 'log probs' }] })) {
  for (const c of chunk.choices) for (const t of c.logprobs?.content ?? []) streamedTokens.push(t.token);
}
assert.deepEqual(streamedTokens, ['log ', 'probs']);
await expectError(client.chat.completions.create({ model: 'echo', messages: [] }), 400, 'invalid_request_error', 'invalid_argument', 'messages');
await expectError(client.models.retrieve('nope'), 404, 'invalid_request_error', 'model_not_found', 'model');

// Generation limits as a model applies them: a stop sequence ends the
// answer before it (finish_reason "stop"), max_completion_tokens and
// max_tokens cut it ("length"); the same when streamed.
const stopped = await client.chat.completions.create({ model: 'echo', stop: [' world', 'zzz'], messages: [{ role: 'user', content: 'hello world again' }] });
assert.equal(stopped.choices[0].message.content, 'hello');
assert.equal(stopped.choices[0].finish_reason, 'stop');
for (const limit of [{ max_completion_tokens: 2 }, { max_tokens: 2 }]) {
  const cut = await client.chat.completions.create({ model: 'echo', ...limit, messages: [{ role: 'user', content: 'a rather long message indeed' }] });
  assert.equal(cut.choices[0].message.content, 'a rather');
  assert.equal(cut.choices[0].finish_reason, 'length');
  assert.ok(cut.usage.completion_tokens <= 2);
}
let stoppedText = '';
for await (const chunk of await client.chat.completions.create({ model: 'echo', stream: true, stop: 'again', messages: [{ role: 'user', content: 'hello world again' }] })) {
  stoppedText += chunk.choices[0]?.delta?.content ?? '';
}
assert.equal(stoppedText, 'hello world ');
// seed, user and its successors safety_identifier and prompt_cache_key are
// accepted; OpenAI parameters Rampart does not serve are a 400 naming them,
// unknown ones too, in OpenAI's words.
const seeded = await client.chat.completions.create({ model: 'echo', seed: 7, user: 'end-user-1', safety_identifier: 'end-user-hash',
  prompt_cache_key: 'conversation-1', messages: [{ role: 'user', content: 'seeded' }] });
assert.equal(seeded.choices[0].message.content, 'seeded');
const noLogprobs = await expectError(client.chat.completions.create({ model: 'echo', logprobs: true, messages: user }), 400, 'invalid_request_error', 'unsupported_parameter', 'logprobs');
assert.match(noLogprobs.message, /provider \(local\)/);
const unserved = await expectError(client.chat.completions.create({ model: 'echo', reasoning_effort: 'low', messages: user }), 400, 'invalid_request_error', 'unsupported_parameter', 'reasoning_effort');
assert.match(unserved.message, /Unsupported parameter: 'reasoning_effort' is not supported/);
const unknown = await expectError(client.chat.completions.create({ model: 'echo', temprature: 1, messages: user }), 400, 'invalid_request_error', 'unsupported_parameter', 'temprature');
assert.match(unknown.message, /Unrecognized request argument supplied: temprature/);

// A stored response is retrieved whole; retrieving it as a stream (which
// OpenAI serves for background responses only) is refused, not an empty
// stream.
const kept = await client.responses.create({ model: 'echo', store: true, input: 'kept whole' });
assert.equal((await client.responses.retrieve(kept.id)).output[0].content[0].text, 'kept whole'); // 4.x adds no output_text here
await expectError((async () => { for await (const ev of await client.responses.retrieve(kept.id, { stream: true })) assert.fail(`an event: ${ev.type}`); })(),
  400, 'invalid_request_error', 'unsupported_parameter', 'stream');

console.log('node conformance OK');
