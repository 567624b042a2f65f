// A Ferry connector in JavaScript: Syncro companies and assets.
//
// Built into a WebAssembly component with ComponentizeJS against Ferry's
// contract (wit/, world `connector`); `component.js` is the entry and hands
// the host's imports to the helpers. It reaches Syncro only through the
// host's `http` import, never `fetch` (built with `--disable http`).
// Everything generic (config, HTTP, errors, cursors) is in
// `ferry_helpers.js`, so this file also loads in Node: `node --test`.
// Errors are thrown as `{ tag, val }`: ComponentizeJS turns a thrown value
// into the `err` case of the function's `result`.

import * as ferry from './ferry_helpers.js';
import { Config, fail, invalid, text } from './ferry_helpers.js';

const SYNCRO = '.syncromsp.com';

function subdomainOf(value) {
  let host = value.trim().toLowerCase().replace(/^https?:\/\//, '').split('/')[0];
  if (host.endsWith(SYNCRO)) host = host.slice(0, -SYNCRO.length);
  if (!/^[a-z0-9-]+$/.test(host)) {
    throw invalid('subdomain', `\`${value}\` is not a Syncro subdomain: give \`acme\` for https://acme.syncromsp.com`);
  }
  return host;
}

/** Syncro's quirk: a missing permission is a 401 saying "group permissions". */
function classify(response, resource) {
  const body = ferry.snippet(response.body);
  if (response.status === 401 && body.includes('group permissions')) {
    return fail('forbidden', { resource, permission: undefined, detail: body });
  }
  if (response.status === 401) {
    return fail('unauthorized', 'Syncro refused the API token (HTTP 401): create a new one under Admin > API > API Tokens');
  }
  return undefined;
}

function client(config) {
  const base = config.baseUrl('base_url') || `https://${subdomainOf(config.require('subdomain'))}${SYNCRO}/api/v1`;
  const token = config.require('api_key');
  return new ferry.Client(base, [['authorization', `Bearer ${token}`], ['accept', 'application/json']]);
}

/** One page of a Syncro list endpoint. */
function listPage(config, path, key, cursor, query) {
  const page = ferry.pageOf(cursor);
  const body = client(config).getJson(path, { ...query, page }, key, classify);
  const items = body[key] || [];
  const meta = body.meta || {};
  ferry.debug(`${key} page ${page}: ${items.length}`);
  return {
    items,
    next: ferry.nextPage(page, meta.total_pages, items.length),
    total: typeof meta.total_entries === 'number' ? BigInt(meta.total_entries) : undefined,
  };
}

function company(c) {
  const person = [text(c.firstname), text(c.lastname)].filter(Boolean).join(' ');
  const card = Object.entries(c.properties || {})
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([label, v]) => ({ label, value: String(v) }));
  return {
    id: String(c.id ?? ''),
    name: text(c.business_name) || person || '',
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
    id: String(a.id ?? ''),
    companyId: text(a.customer_id),
    name: text(a.name) || '',
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
      version: '0.3.0',
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
      extraStreams: [],
      allowedHosts: ['https://{subdomain}.syncromsp.com', '{base_url}'],
      rateLimit: { requests: 180, perSeconds: 60 },
    };
  },

  validateConfig: ferry.guard((pairs) => {
    const config = new Config(pairs);
    const given = config.require('subdomain');
    const clean = subdomainOf(given);
    config.require('api_key');
    config.baseUrl('base_url');
    return {
      config: pairs.map(([k, v]) => [k, k === 'subdomain' ? clean : v]),
      notices: clean === given ? [] : [`subdomain: \`${given}\` normalised to \`${clean}\``],
    };
  }),

  check: ferry.guard((pairs) => {
    const config = new Config(pairs);
    client(config).getJson('/me', undefined, 'the current user', classify);
    const { total } = listPage(config, '/customers', 'customers', undefined, { include_disabled: 'true' });
    return {
      summary: `${total ?? 0} customers found`,
      facts: [],
      warnings: total ? [] : ["0 customers found: the token's user may not see customers"],
    };
  }),

  read: ferry.guard((pairs, stream, cursor, since) => {
    const config = new Config(pairs);
    const kind = ferry.streamKind(stream); // undefined for an extra stream (none declared here)
    if (kind === 'companies') {
      const { items, next, total } = listPage(config, '/customers', 'customers', cursor, { include_disabled: 'true' });
      return { records: { tag: 'companies', val: items.map(company) }, next, total };
    }
    if (kind === 'assets') {
      const { items, next, total } = listPage(config, '/customer_assets', 'assets', cursor, {});
      return { records: { tag: 'assets', val: items.map(asset) }, next, total };
    }
    throw ferry.unsupported(stream);
  }),
};
