"""A Ferry connector in Python: Syncro companies and assets.

Built into a WebAssembly component with componentize-py against Ferry's
contract (wit/, world `connector`). It reaches Syncro only through the host's
`http` import; Ferry checks every URL against the hosts declared in `info()`.
Everything generic (config, HTTP, errors, cursors) is in `ferry_helpers.py`,
so `import app` also works in plain Python: `python3 -m unittest`.
"""

from typing import Optional

import ferry_helpers as ferry
from ferry_helpers import Config, Err, invalid, text, types

SYNCRO = ".syncromsp.com"


def subdomain_of(value: str) -> str:
    host = value.strip().lower().removeprefix("https://").removeprefix("http://").split("/")[0]
    host = host.removesuffix(SYNCRO)
    if not host or not all(c.isalnum() or c == "-" for c in host):
        raise invalid("subdomain", f"`{value}` is not a Syncro subdomain: give `acme` for https://acme.syncromsp.com")
    return host


def classify(response: ferry.Response, resource: str):
    """Syncro's quirk: a missing permission is a 401 saying "group permissions"."""
    if response.status == 401 and b"group permissions" in response.body:
        return Err(types.ConnectorError_Forbidden(types.PermissionDenied(resource, None, ferry.snippet(response.body))))
    if response.status == 401:
        return Err(types.ConnectorError_Unauthorized("Syncro refused the API token (HTTP 401): create a new one under Admin > API > API Tokens"))
    return None


def client(config: Config) -> ferry.Client:
    base = config.base_url("base_url") or f"https://{subdomain_of(config.require('subdomain'))}{SYNCRO}/api/v1"
    token = config.require("api_key")
    return ferry.Client(base, [("authorization", "Bearer " + token), ("accept", "application/json")])


def list_page(config: Config, path: str, key: str, cursor: Optional[str], query: dict):
    """One page of a Syncro list endpoint: (items, next cursor, total)."""
    page = ferry.page_of(cursor)
    body = client(config).get_json(path, {**query, "page": page}, key, classify)
    items = body.get(key) or []
    meta = body.get("meta") or {}
    ferry.debug(f"{key} page {page}: {len(items)}")
    return items, ferry.next_page(page, meta.get("total_pages"), len(items)), meta.get("total_entries")


# ---- the companies stream: request, paging, mapping


def company(c: dict) -> types.Company:
    person = " ".join(p for p in (text(c.get("firstname")), text(c.get("lastname"))) if p)
    card = [types.Field(k, str(v)) for k, v in (c.get("properties") or {}).items() if isinstance(v, (str, int, float))]
    return types.Company(
        id=str(c.get("id", "")), name=text(c.get("business_name")) or person or "", active=not c.get("disabled", False),
        deleted=False, status="Disabled" if c.get("disabled") else "Active", types=[], website=None,
        email=text(c.get("email")), phone=text(c.get("phone")), address=None,
        updated_at=text(c.get("updated_at")), card=card, raw=None)


def companies(config: Config, cursor: Optional[str]) -> types.Page:
    items, nxt, total = list_page(config, "/customers", "customers", cursor, {"include_disabled": "true"})
    return types.Page(types.Records_Companies([company(c) for c in items]), nxt, total)


# ---- the assets stream


def asset(a: dict) -> types.Asset:
    general = ((a.get("properties") or {}).get("kabuto_information") or {}).get("general") or {}
    return types.Asset(
        id=str(a.get("id", "")), company_id=text(a.get("customer_id")), name=text(a.get("name")) or "",
        type_name=text(a.get("asset_type")) or "Unknown", status=None, active=True,
        serial_number=text(a.get("asset_serial")), mac_address=None, ip_address=text(general.get("ip")),
        manufacturer=text(general.get("manufacturer")), model=text(general.get("model")), operating_system=None,
        tag=None, updated_at=text(a.get("updated_at")), card=[], raw=None)


def assets(config: Config, cursor: Optional[str]) -> types.Page:
    items, nxt, total = list_page(config, "/customer_assets", "assets", cursor, {})
    return types.Page(types.Records_Assets([asset(a) for a in items]), nxt, total)


class Source(ferry.SourceBase):
    def info(self) -> types.ConnectorInfo:
        field = types.ConfigField
        return types.ConnectorInfo(
            id="syncro-python",
            name="Syncro (Python example)",
            version="0.3.0",
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
            extra_streams=[],
            allowed_hosts=["https://{subdomain}.syncromsp.com", "{base_url}"],
            rate_limit=types.RateLimit(180, 60),
        )

    @ferry.guard
    def validate_config(self, pairs) -> types.ValidatedConfig:
        config = Config(pairs)
        given = config.require("subdomain")
        clean = subdomain_of(given)
        config.require("api_key")
        config.base_url("base_url")
        notices = [] if clean == given else [f"subdomain: `{given}` normalised to `{clean}`"]
        return types.ValidatedConfig([(k, clean if k == "subdomain" else v) for k, v in pairs], notices)

    @ferry.guard
    def check(self, pairs) -> types.CheckReport:
        config = Config(pairs)
        client(config).get_json("/me", None, "the current user", classify)
        _, _, total = list_page(config, "/customers", "customers", None, {"include_disabled": "true"})
        warnings = [] if total else ["0 customers found: the token's user may not see customers"]
        return types.CheckReport(f"{total or 0} customers found", [], warnings)

    @ferry.guard
    def read(self, pairs, stream, cursor: Optional[str], since: Optional[str]) -> types.Page:
        config = Config(pairs)
        kind = ferry.stream_kind(stream)  # None for an extra stream (none declared here)
        if kind == types.StreamKind.COMPANIES:
            return companies(config, cursor)
        if kind == types.StreamKind.ASSETS:
            return assets(config, cursor)
        raise ferry.unsupported(stream)
