// Unit tests of the JavaScript connector outside the component:
//
//     cd plugins/examples/js-syncro && node --test
//
// `app.js` imports only `ferry_helpers.js`; `FakeHttp` answers its requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { source } from './app.js';
import * as ferry from './ferry_helpers.js';
import { FakeHttp, kind } from './ferry_helpers.js';

const API = 'https://acme.syncromsp.com/api/v1';
const CONFIG = [['subdomain', 'https://Acme.syncromsp.com/'], ['api_key', 'tok']];

test('companies page until total_pages, with the token', () => {
  const fake = new FakeHttp()
    .on('get', `${API}/customers?include_disabled=true&page=1`, 200, {
      customers: [{ id: 7, business_name: 'Ortiz Dental' }],
      meta: { total_pages: 2, total_entries: 2 },
    })
    .install();
  const page = source.read(CONFIG, kind('companies'), undefined, undefined);
  assert.equal(page.next, 'page:2');
  assert.equal(page.total, 2n);
  assert.equal(page.records.val[0].name, 'Ortiz Dental');
  assert.deepEqual(fake.requests[0].headers[0], ['authorization', 'Bearer tok']);
  assert.ok(fake.logs.some(([, m]) => m.includes('customers page 1')));
});

test('errors map like the Rust SDK', () => {
  const fake = new FakeHttp()
    .on('get', '/api/v1/customers', 401, { error: 'update your group permissions' })
    .on('get', '/api/v1/customers', 429, '', [['retry-after', '297']])
    .on('get', '/api/v1/customers', 502, 'bad gateway')
    .on('get', '/api/v1/customers', 0, '', [], { tag: 'unreachable', val: 'connection refused' })
    .on('get', '/api/v1/customers', 0, '', [], { tag: 'timeout' })
    .install();
  const tags = [];
  for (let i = 0; i < 5; i++) {
    try {
      source.read(CONFIG, kind('companies'), undefined, undefined);
    } catch (e) {
      tags.push(e.tag);
    }
  }
  assert.deepEqual(tags, ['forbidden', 'rate-limited', 'other', 'unreachable', 'timeout']);
  assert.equal(fake.count('get', '/api/v1/customers'), 5);
});

test('config errors name the field; a bug keeps its message and stack', () => {
  assert.throws(() => source.validateConfig([['subdomain', 'acme']]), { tag: 'invalid-config', val: { field: 'api_key', reason: 'is required but was not set' } });
  new FakeHttp().on('get', '/api/v1/customers', 200, { customers: 'not a list' }).install();
  assert.throws(() => source.read(CONFIG, kind('companies'), undefined, undefined), (e) => e.tag === 'other' && e.val.includes('TypeError') && e.val.includes('app.js'));
});

test('a bad cursor and an unsupported stream', () => {
  assert.throws(() => source.read(CONFIG, kind('companies'), 'offset:3', undefined), { tag: 'bad-response' });
  assert.throws(() => source.read(CONFIG, kind('tickets'), undefined, undefined), { tag: 'unsupported-stream' });
});

test('an extra stream this connector does not declare is unsupported; info is 0.3', () => {
  assert.throws(() => source.read(CONFIG, ferry.extra('contracts'), undefined, undefined), {
    tag: 'unsupported-stream',
    val: { tag: 'extra', val: 'contracts' },
  });
  assert.deepEqual(source.info().extraStreams, []);
});

test('state keeps values with a TTL and the host rules', () => {
  new FakeHttp().install();
  assert.equal(ferry.state.set('session', 's1', 60), true);
  assert.equal(ferry.state.get('session'), 's1');
  ferry.advanceClock(61);
  assert.equal(ferry.state.get('session'), undefined);
  assert.equal(ferry.state.set('no spaces', 'x'), false);
  assert.equal(ferry.state.set('big', 'b'.repeat(64 * 1024)), false);
  assert.equal(ferry.state.get('big'), undefined);
});

test('client credentials: one token across calls, token-expired on a refused cached token', () => {
  const token = { access_token: 't1', expires_in: 3600, token_type: 'Bearer' };
  const fake = new FakeHttp()
    .on('post', '/auth/token', 200, token)
    .on('get', '/x', 200, 'ok')
    .on('get', '/x', 200, 'ok')
    .on('get', '/x', 401, '')
    .on('get', '/x', 200, 'ok')
    .install();
  const auth = new ferry.ClientCredentials('https://auth.example/auth/token', 'id', 's3cret', { scope: 'all' });
  const get = (t) => ['get', 'https://api.example/x', [['authorization', `Bearer ${t}`]]];
  assert.equal(auth.send(get).status, 200);
  assert.equal(auth.send(get).status, 200);
  assert.equal(fake.count('post', '/auth/token'), 1);
  assert.throws(() => auth.send(get), { tag: 'token-expired' });
  ferry.clearState(); // what Ferry does before the one retry
  assert.equal(auth.send(get).status, 200);
  assert.equal(fake.count('post', '/auth/token'), 2);
  assert.ok(new TextDecoder().decode(fake.requests[0].body).includes('client_secret=s3cret'));
});

test('a wrong client secret is unauthorized', () => {
  new FakeHttp().on('post', '/auth/token', 400, { error: 'invalid_client' }).install();
  const auth = new ferry.ClientCredentials('https://auth.example/auth/token', 'id', 'wrong');
  assert.throws(() => auth.fetch(), { tag: 'unauthorized' });
});
