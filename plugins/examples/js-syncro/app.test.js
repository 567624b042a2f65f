// Unit tests of the JavaScript connector outside the component:
//
//     cd plugins/examples/js-syncro && node --test
//
// `app.js` imports only `ferry_helpers.js`; `FakeHttp` answers its requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { source } from './app.js';
import { FakeHttp } from './ferry_helpers.js';

const API = 'https://acme.syncromsp.com/api/v1';
const CONFIG = [['subdomain', 'https://Acme.syncromsp.com/'], ['api_key', 'tok']];

test('companies page until total_pages, with the token', () => {
  const fake = new FakeHttp()
    .on('get', `${API}/customers?include_disabled=true&page=1`, 200, {
      customers: [{ id: 7, business_name: 'Ortiz Dental' }],
      meta: { total_pages: 2, total_entries: 2 },
    })
    .install();
  const page = source.read(CONFIG, 'companies', undefined, undefined);
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
      source.read(CONFIG, 'companies', undefined, undefined);
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
  assert.throws(() => source.read(CONFIG, 'companies', undefined, undefined), (e) => e.tag === 'other' && e.val.includes('TypeError') && e.val.includes('app.js'));
});

test('a bad cursor and an unsupported stream', () => {
  assert.throws(() => source.read(CONFIG, 'companies', 'offset:3', undefined), { tag: 'bad-response' });
  assert.throws(() => source.read(CONFIG, 'tickets', undefined, undefined), { tag: 'unsupported-stream' });
});
