// A Ferry connector in JavaScript: Syncro companies and assets.
//
// Built into a WebAssembly component with ComponentizeJS (`jco componentize`)
// against Ferry's contract (wit/, world `connector`). It reaches Syncro only
// through the host's `http` import, never `fetch` (built with `--disable http`).
// Errors are thrown as plain objects: ComponentizeJS turns a thrown value
// into the `err` case of the function's `result`.

import { send } from 'ferry:connector/http@0.2.0';
import { emit } from 'ferry:connector/log@0.2.0';

const SYNCRO = '.syncromsp.com';
const decoder = new TextDecoder();

const fail = (tag, val) => ({ tag, val });
const invalid = (field, reason) => fail('invalid-config', { field, reason });

function get(config, key) {
  for (let i = config.length - 1; i >= 0; i--) {
    const [k, v] = config[i];
    if (k === key && v.trim() !== '') return v.trim();
  }
  return undefined;
}

function subdomainOf(value) {
  let host = value.trim().toLowerCase().replace(/^https?:\/\//, '').split('/')[0];
  if (host.endsWith(SYNCRO)) host = host.slice(0, -SYNCRO.length);
  if (!/^[a-z0-9-]+$/.test(host)) {
    throw invalid('subdomain', `\`${value}\` is not a Syncro subdomain: give \`acme\` for https://acme.syncromsp.com`);
  }
  return host;
}

function baseUrl(config) {
  const override = get(config, 'base_url');
  if (override) return override.replace(/\/+$/, '');
  const sub = get(config, 'subdomain');
  if (!sub) throw invalid('subdomain', 'is required but was not set');
  return `https://${subdomainOf(sub)}${SYNCRO}/api/v1`;
}

function call(config, path, resource) {
  const token = get(config, 'api_key');
  if (!token) throw invalid('api_key', 'is required but was not set');
  let response;
  try {
    response = send({
      method: 'get',
      url: baseUrl(config) + path,
      headers: [['authorization', `Bearer ${token}`], ['accept', 'application/json']],
      body: undefined,
    });
  } catch (e) {
    throw transportError(resource, e && e.payload);
  }
  const text = decoder.decode(response.body);
  if (response.status === 401 && text.includes('group permissions')) {
    throw fail('forbidden', { resource, permission: undefined, detail: text.slice(0, 200) });
  }
  if (response.status === 401) throw fail('unauthorized', 'Syncro refused the API token (HTTP 401)');
  if (response.status === 429) throw fail('rate-limited', undefined);
  if (response.status >= 400) throw fail('other', `HTTP ${response.status} while reading ${resource}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fail('bad-response', `${resource}: the JSON did not parse (${e.message})`);
  }
}

// What a failed request means to Ferry: only a host that cannot be reached
// stops the run; the rest fail this stream (as the Rust SDK's
// `transport_error` does). `err` is the host's http-error variant.
function transportError(resource, err) {
  switch (err && err.tag) {
    case 'unreachable':
      return fail('unreachable', `${resource}: ${err.val}`);
    case 'timeout':
      return fail('timeout', `${resource}: Syncro did not answer in time`);
    case 'too-large':
      return fail('bad-response', `${resource}: the response exceeded Ferry's ${err.val}-byte limit`);
    case 'not-allowed':
      return fail('other', `${resource}: request refused by Ferry: ${err.val}`);
    case 'invalid-url':
      return fail('other', `${resource}: invalid URL: ${err.val}`);
    case 'budget-exhausted':
      return fail('other', `${resource}: this run's request budget is spent`);
    default:
      return fail('other', `${resource}: ${err && err.val !== undefined ? err.val : String(err)}`);
  }
}

function pageOf(cursor) {
  if (cursor === undefined) return 1;
  const m = /^page:(\d+)$/.exec(cursor);
  if (!m) throw fail('bad-response', `cursor \`${cursor}\` is not a page cursor`);
  return Number(m[1]);
}

function nextCursor(body, page, count) {
  const total = body.meta && body.meta.total_pages;
  const more = typeof total === 'number' ? page < total : count > 0;
  return more ? `page:${page + 1}` : undefined;
}

const text = (v) => (v === null || v === undefined || String(v).trim() === '' ? undefined : String(v).trim());

function company(c) {
  const person = [text(c.firstname), text(c.lastname)].filter(Boolean).join(' ');
  const card = Object.entries(c.properties || {})
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([label, v]) => ({ label, value: String(v) }));
  return {
    id: String(c.id),
    name: text(c.business_name) || person || `Customer ${c.id}`,
    active: !c.disabled,
    deleted: false,
    status: c.disabled ? 'Disabled' : 'Active',
    types: [],
    website: undefined,
    email: text(c.email),
    phone: text(c.phone),
    address: undefined,
    updatedAt: text(c.updated_at),
    card,
    raw: undefined,
  };
}

function asset(a) {
  const general = ((a.properties || {}).kabuto_information || {}).general || {};
  return {
    id: String(a.id),
    companyId: text(a.customer_id),
    name: text(a.name) || `Asset ${a.id}`,
    typeName: text(a.asset_type) || 'Unknown',
    status: undefined,
    active: true,
    serialNumber: text(a.asset_serial),
    macAddress: undefined,
    ipAddress: text(general.ip),
    manufacturer: text(general.manufacturer),
    model: text(general.model),
    operatingSystem: undefined,
    tag: undefined,
    updatedAt: text(a.updated_at),
    card: [],
    raw: undefined,
  };
}

const field = (key, label, help, required, secret) => ({ key, label, help, required, secret, defaultValue: undefined });

export const source = {
  info() {
    return {
      id: 'syncro-js',
      name: 'Syncro (JavaScript example)',
      version: '0.1.0',
      description: 'Syncro customers and assets, written in JavaScript with ComponentizeJS.',
      config: [
        field('subdomain', 'Subdomain', 'acme for https://acme.syncromsp.com', true, false),
        field('api_key', 'API token', 'Admin > API > API Tokens', true, true),
        field('base_url', 'API base URL override', 'for simulators only', false, false),
      ],
      streams: [
        { kind: 'companies', incremental: false, description: 'Syncro customers' },
        { kind: 'assets', incremental: false, description: 'Syncro assets' },
      ],
      allowedHosts: ['https://{subdomain}.syncromsp.com', '{base_url}'],
      rateLimit: { requests: 180, perSeconds: 60 },
    };
  },

  validateConfig(config) {
    const given = get(config, 'subdomain');
    if (!given) throw invalid('subdomain', 'is required but was not set');
    const clean = subdomainOf(given);
    if (!get(config, 'api_key')) throw invalid('api_key', 'is required but was not set');
    return {
      config: config.map(([k, v]) => [k, k === 'subdomain' ? clean : v]),
      notices: clean === given ? [] : [`subdomain: \`${given}\` normalised to \`${clean}\``],
    };
  },

  check(config) {
    call(config, '/me', 'the current user');
    const body = call(config, '/customers?include_disabled=true&page=1', 'customers');
    const total = (body.meta && body.meta.total_entries) ?? (body.customers || []).length;
    return {
      summary: `${total} customers found`,
      facts: [],
      warnings: total ? [] : ["0 customers found: the token's user may not see customers"],
    };
  },

  read(config, stream, cursor, since) {
    const page = pageOf(cursor);
    if (stream === 'companies') {
      const body = call(config, `/customers?include_disabled=true&page=${page}`, 'customers');
      const items = body.customers || [];
      emit('debug', `customers page ${page}: ${items.length}`);
      return {
        records: { tag: 'companies', val: items.map(company) },
        next: nextCursor(body, page, items.length),
        total: body.meta && typeof body.meta.total_entries === 'number' ? BigInt(body.meta.total_entries) : undefined,
      };
    }
    if (stream === 'assets') {
      const body = call(config, `/customer_assets?page=${page}`, 'assets');
      const items = body.assets || [];
      return {
        records: { tag: 'assets', val: items.map(asset) },
        next: nextCursor(body, page, items.length),
        total: body.meta && typeof body.meta.total_entries === 'number' ? BigInt(body.meta.total_entries) : undefined,
      };
    }
    throw fail('unsupported-stream', stream);
  },
};
