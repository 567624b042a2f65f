"""Unit tests of the Python connector outside the component:

    cd plugins/examples/python-syncro && python3 -m unittest

`ferry_helpers` builds the contract's types from wit/connector.wit and
`FakeHttp` answers the requests; no componentize-py needed.
"""

import unittest

import app
from ferry_helpers import Err, FakeHttp, LOGS, types

API = "https://acme.syncromsp.com/api/v1"
CONFIG = [("subdomain", "https://Acme.syncromsp.com/"), ("api_key", "tok")]


class CompaniesTest(unittest.TestCase):
    def test_pages_until_total_pages_with_the_token(self):
        fake = FakeHttp().on("GET", f"{API}/customers?include_disabled=true&page=1", 200, {
            "customers": [{"id": 7, "business_name": "Ortiz Dental", "disabled": False}],
            "meta": {"total_pages": 2, "total_entries": 2}})
        with fake:
            page = app.Source().read(CONFIG, types.StreamKind.COMPANIES, None, None)
        self.assertEqual(page.next, "page:2")
        self.assertEqual(page.total, 2)
        self.assertEqual(page.records.value[0].name, "Ortiz Dental")
        self.assertIn(("authorization", "Bearer tok"), fake.requests[0].headers)
        self.assertTrue(any("customers page 1" in m for _, m in LOGS))

    def test_errors_map_like_the_rust_sdk(self):
        fake = (FakeHttp()
                .on("GET", "/api/v1/customers", 401, {"error": "update your group permissions"})
                .on("GET", "/api/v1/customers", 429, "", headers=[("retry-after", "297")])
                .on("GET", "/api/v1/customers", 502, "bad gateway")
                .on("GET", "/api/v1/customers", error=("Unreachable", "connection refused"))
                .on("GET", "/api/v1/customers", error=("Timeout", None)))
        expected = ["Forbidden", "RateLimited", "Other", "Unreachable", "Timeout"]
        with fake:
            for name in expected:
                with self.assertRaises(Err) as caught:
                    app.Source().read(CONFIG, types.StreamKind.COMPANIES, None, None)
                self.assertEqual(type(caught.exception.value).__name__, f"ConnectorError_{name}")
        self.assertEqual(fake.count("GET", "/api/v1/customers"), 5)

    def test_config_errors_name_the_field_and_bugs_keep_their_traceback(self):
        with self.assertRaises(Err) as caught:
            app.Source().validate_config([("subdomain", "acme")])
        self.assertEqual(caught.exception.value.value.field, "api_key")
        with FakeHttp().on("GET", "/api/v1/customers", 200, {"customers": "not a list"}):
            with self.assertRaises(Err) as caught:
                app.Source().read(CONFIG, types.StreamKind.COMPANIES, None, None)
        self.assertIn("app.py", caught.exception.value.value)

    def test_bad_cursor_and_unsupported_stream(self):
        with self.assertRaises(Err) as caught:
            app.Source().read(CONFIG, types.StreamKind.COMPANIES, "offset:3", None)
        self.assertIsInstance(caught.exception.value, types.ConnectorError_BadResponse)
        with self.assertRaises(Err) as caught:
            app.Source().read(CONFIG, types.StreamKind.TICKETS, None, None)
        self.assertIsInstance(caught.exception.value, types.ConnectorError_UnsupportedStream)


if __name__ == "__main__":
    unittest.main()
