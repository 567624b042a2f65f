"""A Ferry connector in Python: Syncro companies and assets.

Built into a WebAssembly component with componentize-py against Ferry's
contract (wit/, world `connector`). It reaches Syncro only through the host's
`http` import; Ferry checks every URL against the hosts declared in `info()`.
"""

import json
from typing import List, Optional, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import http, log, types

Config = List[Tuple[str, str]]
SYNCRO = ".syncromsp.com"


def get(config: Config, key: str) -> Optional[str]:
    for k, v in reversed(config):
        if k == key and v.strip():
            return v.strip()
    return None


def invalid(field: str, reason: str) -> Err:
    return Err(types.ConnectorError_InvalidConfig(types.ConfigProblem(field, reason)))


def subdomain_of(value: str) -> str:
    host = value.strip().lower()
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme):]
    host = host.split("/")[0]
    if host.endswith(SYNCRO):
        host = host[: -len(SYNCRO)]
    if not host or not all(c.isalnum() or c == "-" for c in host):
        raise invalid("subdomain", f"`{value}` is not a Syncro subdomain: give `acme` for https://acme.syncromsp.com")
    return host


def base_url(config: Config) -> str:
    override = get(config, "base_url")
    if override:
        return override.rstrip("/")
    sub = get(config, "subdomain")
    if not sub:
        raise invalid("subdomain", "is required but was not set")
    return f"https://{subdomain_of(sub)}{SYNCRO}/api/v1"


def transport_error(resource: str, e: http.HttpError) -> types.ConnectorError:
    """What a failed request means to Ferry: only a host that cannot be
    reached stops the run; the rest fail this stream (as the Rust SDK's
    `transport_error` does)."""
    if isinstance(e, http.HttpError_Unreachable):
        return types.ConnectorError_Unreachable(f"{resource}: {e.value}")
    if isinstance(e, http.HttpError_Timeout):
        return types.ConnectorError_Timeout(f"{resource}: Syncro did not answer in time")
    if isinstance(e, http.HttpError_TooLarge):
        return types.ConnectorError_BadResponse(f"{resource}: the response exceeded Ferry's {e.value}-byte limit")
    if isinstance(e, http.HttpError_NotAllowed):
        return types.ConnectorError_Other(f"{resource}: request refused by Ferry: {e.value}")
    if isinstance(e, http.HttpError_InvalidUrl):
        return types.ConnectorError_Other(f"{resource}: invalid URL: {e.value}")
    if isinstance(e, http.HttpError_BudgetExhausted):
        return types.ConnectorError_Other(f"{resource}: this run's request budget is spent")
    return types.ConnectorError_Other(f"{resource}: {getattr(e, 'value', e)}")


def call(config: Config, path: str, resource: str) -> dict:
    token = get(config, "api_key")
    if not token:
        raise invalid("api_key", "is required but was not set")
    request = http.Request(http.Method.GET, base_url(config) + path, [("authorization", "Bearer " + token), ("accept", "application/json")], None)
    try:
        response = http.send(request)
    except Err as e:
        raise Err(transport_error(resource, e.value))
    body = bytes(response.body)
    if response.status == 401 and b"group permissions" in body:
        raise Err(types.ConnectorError_Forbidden(types.PermissionDenied(resource, None, body.decode("utf-8", "replace")[:200])))
    if response.status == 401:
        raise Err(types.ConnectorError_Unauthorized("Syncro refused the API token (HTTP 401)"))
    if response.status == 429:
        raise Err(types.ConnectorError_RateLimited(None))
    if response.status >= 400:
        raise Err(types.ConnectorError_Other(f"HTTP {response.status} while reading {resource}"))
    try:
        return json.loads(body)
    except ValueError as e:
        raise Err(types.ConnectorError_BadResponse(f"{resource}: the JSON did not parse ({e})"))


def page_of(cursor: Optional[str]) -> int:
    if cursor is None:
        return 1
    if not cursor.startswith("page:") or not cursor[5:].isdigit():
        raise Err(types.ConnectorError_BadResponse(f"cursor `{cursor}` is not a page cursor"))
    return int(cursor[5:])


def next_cursor(body: dict, page: int, count: int) -> Optional[str]:
    total = (body.get("meta") or {}).get("total_pages")
    more = page < total if isinstance(total, int) else count > 0
    return f"page:{page + 1}" if more else None


def text(value) -> Optional[str]:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def company(c: dict) -> types.Company:
    person = " ".join(p for p in (text(c.get("firstname")), text(c.get("lastname"))) if p)
    name = text(c.get("business_name")) or person or f"Customer {c['id']}"
    card = [types.Field(k, str(v)) for k, v in (c.get("properties") or {}).items() if isinstance(v, (str, int, float))]
    return types.Company(
        id=str(c["id"]), name=name, active=not c.get("disabled", False), deleted=False,
        status="Disabled" if c.get("disabled") else "Active", types=[], website=None,
        email=text(c.get("email")), phone=text(c.get("phone")), address=None,
        updated_at=text(c.get("updated_at")), card=card, raw=None)


def asset(a: dict) -> types.Asset:
    general = ((a.get("properties") or {}).get("kabuto_information") or {}).get("general") or {}
    return types.Asset(
        id=str(a["id"]), company_id=text(a.get("customer_id")), name=text(a.get("name")) or f"Asset {a['id']}",
        type_name=text(a.get("asset_type")) or "Unknown", status=None, active=True,
        serial_number=text(a.get("asset_serial")), mac_address=None, ip_address=text(general.get("ip")),
        manufacturer=text(general.get("manufacturer")), model=text(general.get("model")), operating_system=None,
        tag=None, updated_at=text(a.get("updated_at")), card=[], raw=None)


class Source(exports.Source):
    def info(self) -> types.ConnectorInfo:
        field = types.ConfigField
        return types.ConnectorInfo(
            id="syncro-python",
            name="Syncro (Python example)",
            version="0.1.0",
            description="Syncro customers and assets, written in Python with componentize-py.",
            config=[
                field("subdomain", "Subdomain", "acme for https://acme.syncromsp.com", True, False, None),
                field("api_key", "API token", "Admin > API > API Tokens", True, True, None),
                field("base_url", "API base URL override", "for simulators only", False, False, None),
            ],
            streams=[
                types.StreamInfo(types.StreamKind.COMPANIES, False, "Syncro customers"),
                types.StreamInfo(types.StreamKind.ASSETS, False, "Syncro assets"),
            ],
            allowed_hosts=["https://{subdomain}.syncromsp.com", "{base_url}"],
            rate_limit=types.RateLimit(180, 60),
        )

    def validate_config(self, config: Config) -> types.ValidatedConfig:
        given = get(config, "subdomain")
        if not given:
            raise invalid("subdomain", "is required but was not set")
        clean = subdomain_of(given)
        if not get(config, "api_key"):
            raise invalid("api_key", "is required but was not set")
        notices = [] if clean == given else [f"subdomain: `{given}` normalised to `{clean}`"]
        return types.ValidatedConfig([(k, clean if k == "subdomain" else v) for k, v in config], notices)

    def check(self, config: Config) -> types.CheckReport:
        call(config, "/me", "the current user")
        body = call(config, "/customers?include_disabled=true&page=1", "customers")
        total = (body.get("meta") or {}).get("total_entries", len(body.get("customers", [])))
        warnings = [] if total else ["0 customers found: the token's user may not see customers"]
        return types.CheckReport(f"{total} customers found", [], warnings)

    def read(self, config: Config, stream: types.StreamKind, cursor: Optional[str], since: Optional[str]) -> types.Page:
        page = page_of(cursor)
        if stream == types.StreamKind.COMPANIES:
            body = call(config, f"/customers?include_disabled=true&page={page}", "customers")
            items = body.get("customers") or []
            log.emit(log.Level.DEBUG, f"customers page {page}: {len(items)}")
            total = (body.get("meta") or {}).get("total_entries")
            return types.Page(types.Records_Companies([company(c) for c in items]), next_cursor(body, page, len(items)), total)
        if stream == types.StreamKind.ASSETS:
            body = call(config, f"/customer_assets?page={page}", "assets")
            items = body.get("assets") or []
            total = (body.get("meta") or {}).get("total_entries")
            return types.Page(types.Records_Assets([asset(a) for a in items]), next_cursor(body, page, len(items)), total)
        raise Err(types.ConnectorError_UnsupportedStream(stream))
