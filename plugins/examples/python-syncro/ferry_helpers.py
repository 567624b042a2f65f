"""Helpers for Ferry connectors written in Python (componentize-py).

What every connector needs besides its PSA's own code, matching the Rust
SDK (`plugins/sdk`): config access with `invalid-config` errors naming the
field, HTTP through the host with JSON decoding, HTTP status and transport
error mapping, page cursors, the integration's `state` store (contract
0.3: kept across calls and runs) with OAuth client credentials over it,
`token-expired` for a cached token the PSA refuses, stream references
(one of the kinds, or an extra stream by name), logging, and a guard that
keeps an unexpected exception's traceback in the error.

Inside the component the contract's generated bindings are used. Outside it
(`python3 -m unittest`), `import app` still works: the contract's types are
built from `wit/v0.3.0/connector.wit`, the contract it is written for
(found by walking up from this file, or at
`$FERRY_WIT`), requests go to a `FakeHttp`, and `state` is a plain
in-memory store with the host's rules (key syntax, 64 KiB cap, TTL).
"""

import json
import os
import re
import time
import traceback
import urllib.parse
from dataclasses import make_dataclass
from enum import Enum
from types import SimpleNamespace
from typing import Callable, Dict, List, Optional, Tuple

try:  # inside the component
    from componentize_py_types import Err
    from wit_world import exports as _exports
    from wit_world.imports import http, log as _log, state as _state, types

    IN_COMPONENT = True
    SourceBase = _exports.Source
except ImportError:  # plain Python: unit tests
    IN_COMPONENT = False
    SourceBase = object

    class Err(Exception):
        """Stand-in for componentize-py's `Err`: raising it returns the error."""

        def __init__(self, value):
            super().__init__(value)
            self.value = value


# ---------------------------------------------------------------- stand-ins


def _snake(name: str) -> str:
    return name.lstrip("%").replace("-", "_")


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.lstrip("%").split("-"))


def _split_top(inner: str) -> List[str]:
    """Split a WIT body on commas outside `<...>` and `(...)`."""
    items, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        if c in "<(":
            depth += 1
        elif c in ">)":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    return [i.strip() for i in items if i.strip()]


def _find_wit() -> str:
    given = os.environ.get("FERRY_WIT")
    if given:
        return given
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        # The contract this example is written for (frozen), else the newest.
        candidate = os.path.join(here, "wit", "v0.3.0", "connector.wit")
        if not os.path.isfile(candidate):
            candidate = os.path.join(here, "wit", "connector.wit")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            raise ImportError("wit/connector.wit not found above ferry_helpers.py; set FERRY_WIT")
        here = parent


def _standins():
    """The contract's types as componentize-py names them, built from the
    WIT: records are dataclasses, enums `Enum`s, variant cases `Name_Case`
    classes with a `value`."""
    text = re.sub(r"//[^\n]*", "", open(_find_wit(), encoding="utf-8").read())
    interfaces = {}
    for iface, body in re.findall(r"interface\s+([\w-]+)\s*\{(.*?)\n\}", text, re.S):
        ns = SimpleNamespace()
        for kind, name, inner in re.findall(r"\b(record|enum|variant)\s+(%?[\w-]+)\s*\{(.*?)\}", body, re.S):
            items = _split_top(inner)
            cls = _camel(name)
            if kind == "record":
                fields = [_snake(i.split(":")[0].strip()) for i in items]
                setattr(ns, cls, make_dataclass(cls, fields))
            elif kind == "enum":
                setattr(ns, cls, Enum(cls, [(_snake(i).upper(), n) for n, i in enumerate(items)]))
            else:
                for item in items:
                    case = item.split("(")[0].strip()
                    fields = ["value"] if "(" in item else []
                    setattr(ns, f"{cls}_{_camel(case)}", make_dataclass(f"{cls}_{_camel(case)}", fields))
        interfaces[iface] = ns
    return interfaces


if not IN_COMPONENT:
    _ns = _standins()
    types = _ns["types"]
    http = _ns["http"]
    http.send = lambda request: _fake_send(request)
    _log = _ns["log"]
    _log.emit = lambda level, message: LOGS.append((level, message))
    _state = _ns["state"]
    _state.get = lambda key: _fake_state_get(key)
    _state.set = lambda key, value, ttl: _fake_state_set(key, value, ttl)
    _state.delete = lambda key: _FAKE_STATE.pop(key, None)

LOGS: List[Tuple[object, str]] = []

# ---------------------------------------------------------------- config

Pairs = List[Tuple[str, str]]


def invalid(field: str, reason: str) -> Err:
    """An `invalid-config` error naming `field`, ready to raise."""
    return Err(types.ConnectorError_InvalidConfig(types.ConfigProblem(field, reason)))


class Config:
    """The operator's config: the last value of a key wins, values are
    trimmed, a blank value counts as not set."""

    def __init__(self, pairs: Pairs):
        self.pairs = list(pairs)

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        for k, v in reversed(self.pairs):
            if k == key and v.strip():
                return v.strip()
        return default

    def require(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise invalid(key, "is required but was not set")
        return value

    def base_url(self, key: str) -> Optional[str]:
        """An http(s) URL without trailing slashes, or None when unset."""
        value = self.get(key)
        if value is None:
            return None
        url = value.rstrip("/")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc or " " in url:
            raise invalid(key, f"`{value}` is not an http(s) URL such as https://psa.example.com/api (no user info or spaces)")
        return url


# ---------------------------------------------------------------- errors

SNIPPET = 200


def snippet(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ").replace("\r", " ")
    return text[:SNIPPET] + ("…" if len(text) > SNIPPET else "")


def from_status(response: "Response", resource: str) -> Err:
    """The generic meaning of a non-success status, as the Rust SDK's
    `error::from_status`: 401 unauthorized, 403 forbidden, 404 not-found,
    408/504 timeout, 429 rate-limited, 5xx other, else bad-response."""
    status, body = response.status, snippet(response.body)
    if status == 401:
        return Err(types.ConnectorError_Unauthorized(f"HTTP 401 while reading {resource}: {body}"))
    if status == 403:
        return Err(types.ConnectorError_Forbidden(types.PermissionDenied(resource, None, body)))
    if status == 404:
        return Err(types.ConnectorError_NotFound(f"HTTP 404 for {resource}: {body}"))
    if status in (408, 504):
        return Err(types.ConnectorError_Timeout(f"HTTP {status} while reading {resource}"))
    if status == 429:
        return Err(types.ConnectorError_RateLimited(response.retry_after()))
    if 500 <= status <= 599:
        return Err(types.ConnectorError_Other(f"HTTP {status} from the PSA while reading {resource}: {body}"))
    return Err(types.ConnectorError_BadResponse(f"unexpected HTTP {status} while reading {resource}: {body}"))


def token_expired(detail: str) -> Err:
    """`token-expired`: a token or session kept in `state` is no longer
    accepted. Ferry clears the state and calls once more (the next call
    fetches a new one); a second failure is reported as `unauthorized`. Use
    it only for a *cached* token; a fresh one refused is `from_status`'s
    `unauthorized`."""
    return Err(types.ConnectorError_TokenExpired(detail))


def transport_error(e) -> Err:
    """The host's `http-error` as the Rust SDK's `http::transport_error` maps
    it: only `unreachable` stops the run; the rest fail the stream."""
    name = type(e).__name__.split("_")[-1]
    value = getattr(e, "value", None)
    if name == "Unreachable":
        return Err(types.ConnectorError_Unreachable(value))
    if name == "Timeout":
        return Err(types.ConnectorError_Timeout("the PSA did not answer in time"))
    if name == "TooLarge":
        return Err(types.ConnectorError_BadResponse(f"the PSA's response exceeded Ferry's {value}-byte limit"))
    if name == "NotAllowed":
        return Err(types.ConnectorError_Other(f"request refused by Ferry: {value}"))
    if name == "InvalidUrl":
        return Err(types.ConnectorError_Other(f"invalid URL: {value}"))
    if name == "BudgetExhausted":
        return Err(types.ConnectorError_Other("this run's request budget is spent"))
    return Err(types.ConnectorError_Other(str(value if value is not None else e)))


def guard(method: Callable) -> Callable:
    """Decorate `Source` methods: an unexpected exception becomes an
    `other` error carrying its type, message and last frames, instead of a
    trap whose traceback Ferry never sees."""

    def wrapped(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Err:
            raise
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            frames = traceback.extract_tb(e.__traceback__)[-3:]
            where = "; ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in frames)
            raise Err(types.ConnectorError_Other(f"{type(e).__name__}: {e} (at {where})"))

    wrapped.__name__ = method.__name__
    return wrapped


# ---------------------------------------------------------------- http


class Response:
    def __init__(self, status: int, headers: List[Tuple[str, str]], body: bytes):
        self.status, self.headers, self.body = status, headers, bytes(body)

    def header(self, name: str) -> Optional[str]:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def retry_after(self) -> Optional[int]:
        value = (self.header("retry-after") or "").strip()
        return int(value) if value.isdigit() else None

    def json(self, what: str):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise Err(types.ConnectorError_BadResponse(f"{what}: the PSA's JSON did not parse ({e}); body starts: {snippet(self.body)}"))


METHODS = {"GET": "GET", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE", "HEAD": "HEAD"}


def send(method: str, url: str, headers: Pairs = (), body: Optional[bytes] = None) -> Response:
    """One request through the host; transport failures mapped."""
    request = http.Request(getattr(http.Method, METHODS[method.upper()]), url, list(headers), body)
    try:
        r = http.send(request)
    except Err as e:
        raise transport_error(e.value)
    return Response(r.status, r.headers, r.body)


def form(pairs: Dict[str, str]) -> bytes:
    """A form-encoded body (e.g. an OAuth token request)."""
    return urllib.parse.urlencode(pairs).encode()


class Client:
    """A base URL plus default headers."""

    def __init__(self, base_url: str, headers: Pairs = ()):
        self.base_url, self.headers = base_url.rstrip("/"), list(headers)

    def url(self, path: str, query: Optional[Dict[str, object]] = None) -> str:
        url = self.base_url + path
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        return url

    def get(self, path: str, query: Optional[Dict[str, object]] = None) -> Response:
        return send("GET", self.url(path, query), self.headers)

    def get_json(self, path: str, query: Optional[Dict[str, object]] = None, resource: Optional[str] = None,
                 classify: Optional[Callable[[Response, str], Optional[Err]]] = None):
        """GET and decode; a non-2xx goes through `classify` (PSA quirks,
        return None to fall through) and then `from_status`."""
        resource = resource or path
        r = self.get(path, query)
        if not 200 <= r.status < 300:
            raise (classify and classify(r, resource)) or from_status(r, resource)
        return r.json(resource)


# ---------------------------------------------------------------- streams


def stream_kind(stream):
    """The `stream-kind` a `read` asks for, or None for an extra stream."""
    return stream.value if type(stream).__name__.endswith("_Kind") else None


def extra_stream(stream) -> Optional[str]:
    """The name of the extra stream a `read` asks for, or None."""
    return stream.value if type(stream).__name__.endswith("_Extra") else None


def kind(k) -> object:
    """A `stream-ref` naming one of the kinds (tests: `read(cfg, kind(K), ...)`)."""
    return types.StreamRef_Kind(k)


def extra(name: str) -> object:
    """A `stream-ref` naming an extra stream."""
    return types.StreamRef_Extra(name)


def unsupported(stream) -> Err:
    """`unsupported-stream` for a `stream-ref` this connector does not offer."""
    return Err(types.ConnectorError_UnsupportedStream(stream))


# ---------------------------------------------------------------- paging


def page_of(cursor: Optional[str]) -> int:
    """`None` → 1, `page:N` → N, as the Rust SDK's `PageNumber`."""
    if cursor is None:
        return 1
    m = re.fullmatch(r"page:([1-9][0-9]*)", cursor)
    if not m:
        raise Err(types.ConnectorError_BadResponse(f"cursor `{cursor}` is not a page cursor"))
    return int(m.group(1))


def next_page(page: int, total_pages: Optional[int], returned: int, full_page: Optional[int] = None) -> Optional[str]:
    """The next cursor, or None at the end: by the PSA's page count when it
    gives one, else by whether the page was full, else non-empty."""
    if isinstance(total_pages, int):
        more = page < total_pages
    elif full_page:
        more = returned >= full_page > 0
    else:
        more = returned > 0
    return f"page:{page + 1}" if more else None


def text(value) -> Optional[str]:
    """Trimmed text, or None for null/blank."""
    if value is None:
        return None
    s = str(value).strip()
    return s or None


# ---------------------------------------------------------------- state and log

STATE_CAP = 64 * 1024
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_FAKE_STATE: Dict[str, Tuple[str, Optional[float]]] = {}


class state:
    """The integration's key/value store (contract 0.3's `state` import):
    kept across calls and runs, sealed and masked like secrets, cleared by
    Ferry when config or secrets change and before retrying a call that
    ended in `token-expired`. Outside the component, an in-memory fake."""

    @staticmethod
    def get(key: str) -> Optional[str]:
        return _state.get(key)

    @staticmethod
    def set(key: str, value: str, ttl_seconds: Optional[int] = None) -> bool:
        """Store `value`; False (nothing stored, a warning logged) when the
        host refuses it: a bad key or over the 64 KiB cap."""
        try:
            _state.set(key, value, ttl_seconds)
            return True
        except Err as e:
            warn(f"state `{key}` not kept: {type(e.value).__name__}")
            return False

    @staticmethod
    def delete(key: str) -> None:
        _state.delete(key)


def clear_state() -> None:
    """Tests: forget the fake state, as Ferry does before a retry."""
    _FAKE_STATE.clear()


def _fake_state_get(key: str) -> Optional[str]:
    value = _FAKE_STATE.get(key)
    if value is None or (value[1] is not None and value[1] <= clock()):
        _FAKE_STATE.pop(key, None)
        return None
    return value[0]


def _fake_state_set(key: str, value: str, ttl: Optional[int]) -> None:
    if not _KEY.fullmatch(key):
        raise Err(_state.StateError_InvalidKey(key))
    others = sum(len(k) + len(v) for k, (v, _) in _FAKE_STATE.items() if k != key)
    if others + len(key) + len(value) > STATE_CAP:
        raise Err(_state.StateError_TooLarge(STATE_CAP))
    _FAKE_STATE[key] = (value, clock() + ttl if ttl is not None else None)


_CLOCK_OFFSET = [0.0]


def clock() -> float:
    """Seconds since the epoch (tests move it with `advance_clock`)."""
    return time.time() + _CLOCK_OFFSET[0]


def advance_clock(seconds: float) -> None:
    _CLOCK_OFFSET[0] += seconds


class ClientCredentials:
    """OAuth 2.0 client credentials as the Rust SDK's
    `auth::ClientCredentials`: the token is kept in `state` for its lifetime
    (less 30 s), so a whole sync uses one; a 401 to a cached token ends the
    call in `token-expired` (Ferry clears state and retries once), a 401 to
    a fresh one is returned as it is."""

    EARLY = 30

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: Optional[str] = None,
                 extra: Optional[Dict[str, str]] = None):
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.scope, self.extra = scope, dict(extra or {})
        digest = 0xcbf29ce484222325
        for b in f"{token_url}\n{client_id}".encode():
            digest = ((digest ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        self.key = f"oauth-cc:{digest:016x}"

    def fetch(self) -> str:
        fields = {"grant_type": "client_credentials", "client_id": self.client_id,
                  "client_secret": self.client_secret, **({"scope": self.scope} if self.scope else {}), **self.extra}
        r = send("POST", self.token_url, [("content-type", "application/x-www-form-urlencoded"),
                                          ("accept", "application/json")], form(fields))
        if r.status == 401 or (r.status == 400 and b"invalid_client" in r.body):
            raise Err(types.ConnectorError_Unauthorized(
                f"the token endpoint refused the client id and secret (HTTP {r.status}): {snippet(r.body)}"))
        if not 200 <= r.status < 300:
            raise from_status(r, "the access token")
        answer = r.json("the token endpoint's answer")
        token = text(answer.get("access_token")) if isinstance(answer, dict) else None
        if not token:
            raise Err(types.ConnectorError_BadResponse("the token endpoint returned no access_token"))
        keep = int(answer.get("expires_in") or 3600) - self.EARLY
        if keep > 0:
            state.set(self.key, token, keep)
        debug(f"new access token from {self.token_url}")
        return token

    def send(self, build: Callable[[str], Tuple[str, str, Pairs]]) -> Response:
        """`build(token)` gives (method, url, headers); sent with a valid token."""
        cached = state.get(self.key)
        token = cached or self.fetch()
        r = send(*build(token))
        if r.status == 401 and cached:
            state.delete(self.key)
            raise token_expired(f"the PSA refused the cached access token from {self.token_url} (HTTP 401)")
        return r


def debug(message: str) -> None:
    _log.emit(_log.Level.DEBUG, message)


def info(message: str) -> None:
    _log.emit(_log.Level.INFO, message)


def warn(message: str) -> None:
    _log.emit(_log.Level.WARN, message)


# ---------------------------------------------------------------- tests


class FakeHttp:
    """Scripted HTTP for unit tests outside the component.

        fake = FakeHttp().on("GET", "/api/v1/customers?page=1", 200, {"customers": []})
        with fake:
            app.Source().read(config, types.StreamKind.COMPANIES, None, None)
        assert fake.requests[0].url.endswith("page=1")

    A pattern is a full URL or a path; its query parameters must all be in
    the request. Routing a pattern again queues another answer (the last
    repeats). `error=` answers with a host `http-error` case name instead,
    e.g. `error=("Timeout", None)`. An unrouted request fails the test."""

    def __init__(self):
        self.routes: List[list] = []
        self.requests: List[object] = []

    def on(self, method: str, pattern: str, status: int = 200, body=b"", headers: Pairs = (), error=None) -> "FakeHttp":
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
        answer = ("error", error) if error else ("ok", (status, list(headers), bytes(body)))
        for route in self.routes:
            if route[0] == method.upper() and route[1] == pattern:
                route[2].append(answer)
                return self
        self.routes.append([method.upper(), pattern, [answer]])
        return self

    def __enter__(self):
        global _INSTALLED
        _INSTALLED = self
        _FAKE_STATE.clear()
        return self

    def __exit__(self, *exc):
        global _INSTALLED
        _INSTALLED = None
        return False

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for r in self.requests if r.method.name == method.upper() and _matches(pattern, r.url))

    def answer(self, request):
        self.requests.append(request)
        for method, pattern, answers in self.routes:
            if method == request.method.name and _matches(pattern, request.url):
                kind, value = answers.pop(0) if len(answers) > 1 else answers[0]
                if kind == "error":
                    name, payload = value
                    case = getattr(http, f"HttpError_{name}")
                    raise Err(case(payload) if payload is not None else case())
                return http.Response(*value)
        routes = ", ".join(f"{m} {p}" for m, p, _ in self.routes)
        raise AssertionError(f"FakeHttp: no route for {request.method.name} {request.url}; routes: {routes}")


_INSTALLED: Optional[FakeHttp] = None


def _fake_send(request):
    if _INSTALLED is None:
        raise Err(http.HttpError_Other(f"no FakeHttp installed for {request.url} (tests: `with FakeHttp().on(...):`)"))
    return _INSTALLED.answer(request)


def _matches(pattern: str, url: str) -> bool:
    p, u = urllib.parse.urlsplit(pattern), urllib.parse.urlsplit(url)
    if p.netloc and (p.scheme, p.netloc.lower()) != (u.scheme, u.netloc.lower()):
        return False
    if p.path.rstrip("/") != u.path.rstrip("/"):
        return False
    given = urllib.parse.parse_qsl(u.query)
    return all(pair in given for pair in urllib.parse.parse_qsl(p.query))
