// Conformance of Rampart's OpenAI-compatible API with the official Node SDK
// (npm "openai"). Run by TestNodeSDK with RAMPART_URL and RAMPART_KEY set.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.RAMPART_URL + '/v1', apiKey: process.env.RAMPART_KEY, maxRetries: 0 });

async function expectError(promise, status, type, code, param) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, `not an APIError: ${err}`);
    assert.equal(err.status, status);
    assert.equal(err.type, type);
    assert.equal(err.code, code);
    assert.equal(err.param ?? null, param);
    return err;
  }
  assert.fail('expected an error');
}

for (const model of ['echo', 'gpt-fake']) {
  const chat = await client.chat.completions.create({
    model, messages: [{ role: 'system', content: 'be terse' }, { role: 'user', content: 'hello from node' }], temperature: 0.1,
  });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices[0].message.content, 'hello from node');
  assert.ok(chat.usage.total_tokens > 0);

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

  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const call = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: 'call:get_weather {"city":"Lima"}' }] });
  assert.equal(call.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(JSON.parse(call.choices[0].message.tool_calls[0].function.arguments), { city: 'Lima' });
}

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

await expectError(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), 404, 'invalid_request_error', 'model_not_found', 'model');
await expectError(client.chat.completions.create({ model: 'echo', n: 2, messages: [{ role: 'user', content: 'x' }] }), 400, 'invalid_request_error', 'invalid_argument', 'n');
await expectError(client.chat.completions.create({ model: 'echo', messages: [] }), 400, 'invalid_request_error', 'invalid_argument', 'messages');
await expectError(client.models.retrieve('nope'), 404, 'invalid_request_error', 'model_not_found', 'model');

console.log('node conformance OK');
