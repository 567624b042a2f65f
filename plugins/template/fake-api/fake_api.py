#!/usr/bin/env python3
"""Example PSA: the tiny API the connector template reads.

    python3 fake_api.py --port 8099 --key secret-key [--companies 12]

GET /api/companies?page=N and /api/devices?page=N with header X-Api-Key
answer {"data": [...], "next_page": N or null, "total_pages": N}, 5 records a
page. A wrong or
missing key gets 401. Only the standard library; binds 127.0.0.1.
"""

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PAGE = 5
KINDS = ["Workstation", "Laptop", "Server", "Firewall", "Printer"]


def data(companies: int):
    cs = [{"id": i + 1, "name": f"Example Customer {i + 1}", "active": i % 7 != 6,
           "website": f"customer{i + 1}.example", "phone": f"555{i + 1:04d}",
           "updated_at": "2025-06-01T00:00:00Z"} for i in range(companies)]
    ds = []
    for c in cs:
        for n in range(3):
            ds.append({"id": len(ds) + 100, "company_id": c["id"], "hostname": f"C{c['id']}-{KINDS[n][:2].upper()}-{n + 1:02d}",
                       "kind": KINDS[(c["id"] + n) % len(KINDS)], "serial": f"SN{c['id']:03d}{n}", "os": "Windows 11 Pro",
                       "updated_at": "2025-06-01T00:00:00Z"})
    return {"/api/companies": cs, "/api/devices": ds}


def handler(key: str, tables):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            if self.headers.get("X-Api-Key") != key:
                return self.reply(401, {"error": "invalid API key"})
            items = tables.get(url.path)
            if items is None:
                return self.reply(404, {"error": "not found"})
            try:
                page = max(1, int(parse_qs(url.query).get("page", ["1"])[0]))
            except ValueError:
                return self.reply(400, {"error": "page must be a number"})
            chunk = items[(page - 1) * PAGE: page * PAGE]
            more = page * PAGE < len(items)
            pages = max(1, -(-len(items) // PAGE))
            self.reply(200, {"data": chunk, "next_page": page + 1 if more else None, "total_pages": pages})

        def reply(self, status, body):
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8099, help="0 picks a free port")
    p.add_argument("--key", default="secret-key")
    p.add_argument("--companies", type=int, default=12)
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(args.key, data(args.companies)))
    print(f"Example PSA on http://127.0.0.1:{server.server_address[1]} (X-Api-Key: {args.key})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
