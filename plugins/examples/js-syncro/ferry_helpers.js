// Helpers for Ferry connectors written in JavaScript (ComponentizeJS).
//
// What every connector needs besides its PSA's own code, matching the Rust
// SDK (plugins/sdk): config access with `invalid-config` errors naming the
// field, HTTP through the host with JSON decoding, HTTP status and
// transport-error mapping, page cursors, the integration's `state` store
// (contract 0.3: kept across calls and runs) with OAuth client credentials
// over it, `token-expired` for a cached token the PSA refuses, stream
// references (a kind or an extra stream by name), logging, and a guard that
// keeps an unexpected exception's stack in the error.
//
// This module never imports the contract itself: `component.js` (the
// component's entry) hands it the host's `send`, `emit` and `state` with
// `setHost`. So `app.js` and this file load in plain Node too, where tests
// install a `FakeHttp` and `state` is an in-memory store with the host's
// rules (key syntax, 64 KiB cap, TTL): `node --test`.

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const SNIPPET = 200;

let host = {
  send(request) {
    throw { payload: { tag: 'other', val: `no host and no FakeHttp installed for ${request.url}` } };
  },
  emit() {},
  state: fakeState(),
};

/** Called once by component.js with the imports of ferry:connector. */
export function setHost(imports) {
  host = { state: host.state, ...imports };
}

// ---------------------------------------------------------------- errors

export const fail = (tag, val) => ({ tag, val });
export const invalid = (field, reason) => fail('invalid-config', { field, reason });

export function snippet(body) {
  const text = (typeof body === 'string' ? body : decoder.decode(body)).trim().replace(/[\r\n]/g, ' ');
  return text.length > SNIPPET ? `${text.slice(0, SNIPPET)}…` : text;
}

/** The generic meaning of a non-success status, as the Rust SDK's
 *  `error::from_status`. */
export function fromStatus(response, resource) {
  const { status } = response;
  const body = snippet(response.body);
  if (status === 401) return fail('unauthorized', `HTTP 401 while reading ${resource}: ${body}`);
  if (status === 403) return fail('forbidden', { resource, permission: undefined, detail: body });
  if (status === 404) return fail('not-found', `HTTP 404 for ${resource}: ${body}`);
  if (status === 408 || status === 504) return fail('timeout', `HTTP ${status} while reading ${resource}`);
  if (status === 429) return fail('rate-limited', retryAfter(response));
  if (status >= 500 && status <= 599) return fail('other', `HTTP ${status} from the PSA while reading ${resource}: ${body}`);
  return fail('bad-response', `unexpected HTTP ${status} while reading ${resource}: ${body}`);
}

/** `token-expired`: a token or session kept in `state` is no longer
 *  accepted. Ferry clears the state and calls once more; a second failure
 *  is `unauthorized`. Only for a *cached* token. */
export const tokenExpired = (detail) => fail('token-expired', detail);

/** The host's http-error as the Rust SDK's `http::transport_error` maps it:
 *  only `unreachable` stops the run; the rest fail the stream. */
export function transportError(err) {
  switch (err && err.tag) {
    case 'unreachable':
      return fail('unreachable', err.val);
    case 'timeout':
      return fail('timeout', 'the PSA did not answer in time');
    case 'too-large':
      return fail('bad-response', `the PSA's response exceeded Ferry's ${err.val}-byte limit`);
    case 'not-allowed':
      return fail('other', `request refused by Ferry: ${err.val}`);
    case 'invalid-url':
      return fail('other', `invalid URL: ${err.val}`);
    case 'budget-exhausted':
      return fail('other', "this run's request budget is spent");
    default:
      return fail('other', String(err && err.val !== undefined ? err.val : err));
  }
}

/** Wrap a `source` function: a thrown JavaScript error (a bug) becomes an
 *  `other` error with its message and first stack frames, instead of a trap
 *  that loses them. */
export function guard(fn) {
  return (...args) => {
    try {
      return fn(...args);
    } catch (e) {
      if (e && typeof e.tag === 'string') throw e;
      const frames = String((e && e.stack) || '').split('\n').slice(1, 4).map((l) => l.trim()).join('; ');
      throw fail('other', `${(e && e.name) || 'Error'}: ${(e && e.message) || e}${frames ? ` (at ${frames})` : ''}`);
    }
  };
}

// ---------------------------------------------------------------- config

export class Config {
  constructor(pairs) {
    this.pairs = pairs;
  }

  /** The last value of `key`, trimmed; undefined when absent or blank. */
  get(key) {
    for (let i = this.pairs.length - 1; i >= 0; i--) {
      const [k, v] = this.pairs[i];
      if (k === key && v.trim() !== '') return v.trim();
    }
    return undefined;
  }

  require(key) {
    const value = this.get(key);
    if (value === undefined) throw invalid(key, 'is required but was not set');
    return value;
  }

  /** An http(s) URL without trailing slashes, or undefined when unset. */
  baseUrl(key) {
    const value = this.get(key);
    if (value === undefined) return undefined;
    const url = value.replace(/\/+$/, '');
    if (!/^https?:\/\/[^/@\s]+(\/\S*)?$/i.test(url)) {
      throw invalid(key, `\`${value}\` is not an http(s) URL such as https://psa.example.com/api (no user info or spaces)`);
    }
    return url;
  }
}

// ---------------------------------------------------------------- http

export function retryAfter(response) {
  const value = header(response, 'retry-after');
  return value && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

export function header(response, name) {
  const found = response.headers.find(([k]) => k.toLowerCase() === name.toLowerCase());
  return found ? found[1] : undefined;
}

export function parseJson(response, what) {
  try {
    return JSON.parse(decoder.decode(response.body));
  } catch (e) {
    throw fail('bad-response', `${what}: the PSA's JSON did not parse (${e.message}); body starts: ${snippet(response.body)}`);
  }
}

/** One request through the host; transport failures mapped. */
export function send(method, url, headers = [], body = undefined) {
  try {
    return host.send({ method, url, headers, body });
  } catch (e) {
    throw transportError(e && e.payload);
  }
}

export const formEncode = (pairs) => new URLSearchParams(pairs).toString();
export const formBody = (pairs) => encoder.encode(formEncode(pairs));

export class Client {
  constructor(baseUrl, headers = []) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.headers = headers;
  }

  url(path, query) {
    const url = this.baseUrl + path;
    const q = query ? formEncode(Object.entries(query).map(([k, v]) => [k, String(v)])) : '';
    return q ? `${url}${url.includes('?') ? '&' : '?'}${q}` : url;
  }

  get(path, query) {
    return send('get', this.url(path, query), this.headers);
  }

  /** GET and decode; a non-2xx goes through `classify` (PSA quirks; return
   *  undefined to fall through) and then `fromStatus`. */
  getJson(path, query, resource = path, classify = undefined) {
    const response = this.get(path, query);
    if (response.status < 200 || response.status > 299) {
      throw (classify && classify(response, resource)) || fromStatus(response, resource);
    }
    return parseJson(response, resource);
  }
}

// ---------------------------------------------------------------- streams

/** The stream kind a `read` asks for (`stream-ref` `kind`), else undefined. */
export const streamKind = (stream) => (stream && stream.tag === 'kind' ? stream.val : undefined);
/** The extra stream's name a `read` asks for, else undefined. */
export const extraStream = (stream) => (stream && stream.tag === 'extra' ? stream.val : undefined);
export const kind = (k) => ({ tag: 'kind', val: k });
export const extra = (name) => ({ tag: 'extra', val: name });
export const unsupported = (stream) => fail('unsupported-stream', stream);

// ---------------------------------------------------------------- paging

/** undefined → 1, `page:N` → N, as the Rust SDK's `PageNumber`. */
export function pageOf(cursor) {
  if (cursor === undefined) return 1;
  const m = /^page:([1-9]\d*)$/.exec(cursor);
  if (!m) throw fail('bad-response', `cursor \`${cursor}\` is not a page cursor`);
  return Number(m[1]);
}

/** The next cursor or undefined: by the PSA's page count when given, else
 *  by whether the page was full, else non-empty. */
export function nextPage(page, totalPages, returned, fullPage = undefined) {
  let more;
  if (typeof totalPages === 'number') more = page < totalPages;
  else if (fullPage) more = returned >= fullPage && returned > 0;
  else more = returned > 0;
  return more ? `page:${page + 1}` : undefined;
}

export const text = (v) => (v === null || v === undefined || String(v).trim() === '' ? undefined : String(v).trim());

// ---------------------------------------------------------------- state and log

const STATE_CAP = 64 * 1024;
let clockOffsetMs = 0;
/** Milliseconds since the epoch; tests move it with `advanceClock`. */
const now = () => Date.now() + clockOffsetMs;
export const advanceClock = (seconds) => {
  clockOffsetMs += seconds * 1000;
};

/** The host's `state` outside the component: in memory, same rules. */
function fakeState() {
  const store = new Map();
  return {
    store,
    get(key) {
      const entry = store.get(key);
      if (!entry || (entry.expires !== undefined && entry.expires <= now())) {
        store.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value, ttlSeconds) {
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(key)) throw { payload: { tag: 'invalid-key', val: key } };
      let others = 0;
      for (const [k, e] of store) if (k !== key) others += k.length + e.value.length;
      if (others + key.length + value.length > STATE_CAP) throw { payload: { tag: 'too-large', val: STATE_CAP } };
      store.set(key, { value, expires: ttlSeconds === undefined ? undefined : now() + ttlSeconds * 1000 });
    },
    delete(key) {
      store.delete(key);
    },
  };
}

/** Tests: forget the fake state, as Ferry does before a retry. */
export function clearState() {
  if (host.state.store) host.state.store.clear();
}

/** The integration's key/value store (contract 0.3's `state` import): kept
 *  across calls and runs, sealed and masked like secrets, cleared by Ferry
 *  when config or secrets change and before retrying a call that ended in
 *  `token-expired`. */
export const state = {
  get(key) {
    return host.state.get(key);
  },
  /** Store `value`; false (nothing stored, a warning logged) when the host
   *  refuses it: a bad key or over the 64 KiB cap. */
  set(key, value, ttlSeconds = undefined) {
    try {
      host.state.set(key, value, ttlSeconds);
      return true;
    } catch (e) {
      warn(`state \`${key}\` not kept: ${(e && e.payload && e.payload.tag) || e}`);
      return false;
    }
  },
  delete(key) {
    host.state.delete(key);
  },
};

/** OAuth 2.0 client credentials as the Rust SDK's `auth::ClientCredentials`:
 *  the token is kept in `state` for its lifetime (less 30 s), so a whole
 *  sync uses one; a 401 to a cached token ends the call in `token-expired`
 *  (Ferry clears state and retries once), a 401 to a fresh one is returned
 *  as it is. */
export class ClientCredentials {
  constructor(tokenUrl, clientId, clientSecret, { scope, extra = {} } = {}) {
    Object.assign(this, { tokenUrl, clientId, clientSecret, scope, extra });
    let hash = 0xcbf29ce484222325n;
    for (const b of encoder.encode(`${tokenUrl}\n${clientId}`)) {
      hash = ((hash ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    }
    this.key = `oauth-cc:${hash.toString(16).padStart(16, '0')}`;
  }

  fetch() {
    const fields = { grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret };
    if (this.scope) fields.scope = this.scope;
    Object.assign(fields, this.extra);
    const headers = [['content-type', 'application/x-www-form-urlencoded'], ['accept', 'application/json']];
    const r = send('post', this.tokenUrl, headers, formBody(fields));
    const body = snippet(r.body);
    if (r.status === 401 || (r.status === 400 && body.includes('invalid_client'))) {
      throw fail('unauthorized', `the token endpoint refused the client id and secret (HTTP ${r.status}): ${body}`);
    }
    if (r.status < 200 || r.status > 299) throw fromStatus(r, 'the access token');
    const answer = parseJson(r, "the token endpoint's answer");
    const token = answer && text(answer.access_token);
    if (!token) throw fail('bad-response', 'the token endpoint returned no access_token');
    const keep = Number(answer.expires_in ?? 3600) - 30;
    if (keep > 0) state.set(this.key, token, keep);
    debug(`new access token from ${this.tokenUrl}`);
    return token;
  }

  /** `build(token)` gives [method, url, headers]; sent with a valid token. */
  send(build) {
    const cached = state.get(this.key);
    const token = cached ?? this.fetch();
    const r = send(...build(token));
    if (r.status === 401 && cached !== undefined) {
      state.delete(this.key);
      throw tokenExpired(`the PSA refused the cached access token from ${this.tokenUrl} (HTTP 401)`);
    }
    return r;
  }
}

export const debug = (message) => host.emit('debug', message);
export const info = (message) => host.emit('info', message);
export const warn = (message) => host.emit('warn', message);

// ---------------------------------------------------------------- tests

/** Scripted HTTP for `node --test`:
 *
 *    const fake = new FakeHttp().on('get', '/api/v1/customers?page=1', 200, { customers: [] }).install();
 *    source.read(config, kind('companies'), undefined, undefined);
 *    assert.equal(fake.requests.length, 1);
 *
 *  A pattern is a full URL or a path; its query parameters must all be in
 *  the request. Routing a pattern again queues another answer (the last
 *  repeats). `{ error: { tag: 'timeout' } }` answers with a host http-error.
 *  An unrouted request throws, naming it and the routes. */
export class FakeHttp {
  constructor() {
    this.routes = [];
    this.requests = [];
    this.logs = [];
  }

  on(method, pattern, status = 200, body = '', headers = [], error = undefined) {
    const bytes = body instanceof Uint8Array ? body : encoder.encode(typeof body === 'string' ? body : JSON.stringify(body));
    const answer = error ? { error } : { status, headers, body: bytes };
    const route = this.routes.find((r) => r.method === method && r.pattern === pattern);
    if (route) route.answers.push(answer);
    else this.routes.push({ method, pattern, answers: [answer] });
    return this;
  }

  install() {
    clearState();
    setHost({ send: (request) => this.answer(request), emit: (level, message) => this.logs.push([level, message]) });
    return this;
  }

  count(method, pattern) {
    return this.requests.filter((r) => r.method === method && matches(pattern, r.url)).length;
  }

  answer(request) {
    this.requests.push(request);
    const route = this.routes.find((r) => r.method === request.method && matches(r.pattern, request.url));
    if (!route) {
      const routes = this.routes.map((r) => `${r.method} ${r.pattern}`).join(', ');
      throw new Error(`FakeHttp: no route for ${request.method} ${request.url}; routes: ${routes}`);
    }
    const answer = route.answers.length > 1 ? route.answers.shift() : route.answers[0];
    if (answer.error) throw { payload: answer.error };
    return answer;
  }
}

function matches(pattern, url) {
  const p = new URL(pattern, 'relative://x');
  const u = new URL(url);
  if (p.protocol !== 'relative:' && p.origin !== u.origin) return false;
  if (p.pathname.replace(/\/+$/, '') !== u.pathname.replace(/\/+$/, '')) return false;
  for (const [k, v] of p.searchParams) if (!u.searchParams.getAll(k).includes(v)) return false;
  return true;
}
