"""Unit tests of the Python connector outside the component:

    cd plugins/examples/python-syncro && python3 -m unittest

`ferry_helpers` builds the contract's types from wit/connector.wit and
`FakeHttp` answers the requests; no componentize-py needed.
"""

import unittest

import app
import ferry_helpers as ferry
from ferry_helpers import Err, FakeHttp, LOGS, kind, types

API = "https://acme.syncromsp.com/api/v1"
CONFIG = [("subdomain", "https://Acme.syncromsp.com/"), ("api_key", "tok")]


class CompaniesTest(unittest.TestCase):
    def test_pages_until_total_pages_with_the_token(self):
        fake = FakeHttp().on("GET", f"{API}/customers?include_disabled=true&page=1", 200, {
            "customers": [{"id": 7, "business_name": "Ortiz Dental", "disabled": False}],
            "meta": {"total_pages": 2, "total_entries": 2}})
        with fake:
            page = app.Source().read(CONFIG, kind(types.StreamKind.COMPANIES), None, None)
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
                    app.Source().read(CONFIG, kind(types.StreamKind.COMPANIES), None, None)
                self.assertEqual(type(caught.exception.value).__name__, f"ConnectorError_{name}")
        self.assertEqual(fake.count("GET", "/api/v1/customers"), 5)

    def test_config_errors_name_the_field_and_bugs_keep_their_traceback(self):
        with self.assertRaises(Err) as caught:
            app.Source().validate_config([("subdomain", "acme")])
        self.assertEqual(caught.exception.value.value.field, "api_key")
        with FakeHttp().on("GET", "/api/v1/customers", 200, {"customers": "not a list"}):
            with self.assertRaises(Err) as caught:
                app.Source().read(CONFIG, kind(types.StreamKind.COMPANIES), None, None)
        self.assertIn("app.py", caught.exception.value.value)

    def test_bad_cursor_and_unsupported_stream(self):
        with self.assertRaises(Err) as caught:
            app.Source().read(CONFIG, kind(types.StreamKind.COMPANIES), "offset:3", None)
        self.assertIsInstance(caught.exception.value, types.ConnectorError_BadResponse)
        with self.assertRaises(Err) as caught:
            app.Source().read(CONFIG, kind(types.StreamKind.TICKETS), None, None)
        self.assertIsInstance(caught.exception.value, types.ConnectorError_UnsupportedStream)
        with self.assertRaises(Err) as caught:
            app.Source().read(CONFIG, ferry.extra("contracts"), None, None)
        self.assertEqual(caught.exception.value.value, ferry.extra("contracts"))

    def test_info_is_contract_0_3(self):
        info = app.Source().info()
        self.assertEqual(info.extra_streams, [])
        self.assertEqual([s.kind for s in info.streams], [types.StreamKind.COMPANIES, types.StreamKind.ASSETS])


TOKEN = {"access_token": "t1", "expires_in": 3600, "token_type": "Bearer"}


class StateTest(unittest.TestCase):
    def setUp(self):
        ferry.clear_state()

    def test_state_keeps_values_with_ttl_and_the_hosts_rules(self):
        self.assertTrue(ferry.state.set("session", "s1", 60))
        self.assertEqual(ferry.state.get("session"), "s1")
        ferry.advance_clock(61)
        self.assertIsNone(ferry.state.get("session"))
        self.assertFalse(ferry.state.set("no spaces", "x"))
        self.assertFalse(ferry.state.set("big", "b" * (64 * 1024)))
        self.assertIsNone(ferry.state.get("big"))

    def test_one_token_across_calls_and_token_expired_on_a_refused_cached_token(self):
        auth = ferry.ClientCredentials("https://auth.example/auth/token", "id", "s3cret", scope="all")
        get = lambda t: ("GET", "https://api.example/x", [("authorization", "Bearer " + t)])
        fake = (FakeHttp().on("POST", "/auth/token", 200, TOKEN)
                .on("GET", "/x", 200, "ok").on("GET", "/x", 200, "ok").on("GET", "/x", 401, "")
                .on("GET", "/x", 200, "ok"))
        with fake:
            self.assertEqual(auth.send(get).status, 200)
            self.assertEqual(auth.send(get).status, 200)  # another call: the token is in state
            self.assertEqual(fake.count("POST", "/auth/token"), 1)
            with self.assertRaises(Err) as caught:
                auth.send(get)
            self.assertIsInstance(caught.exception.value, types.ConnectorError_TokenExpired)
            ferry.clear_state()  # what Ferry does before the one retry
            self.assertEqual(auth.send(get).status, 200)
            self.assertEqual(fake.count("POST", "/auth/token"), 2)
            self.assertIn("client_secret=s3cret", fake.requests[0].body.decode())

    def test_a_wrong_secret_is_unauthorized(self):
        auth = ferry.ClientCredentials("https://auth.example/auth/token", "id", "wrong")
        with FakeHttp().on("POST", "/auth/token", 400, {"error": "invalid_client"}):
            with self.assertRaises(Err) as caught:
                auth.fetch()
        self.assertIsInstance(caught.exception.value, types.ConnectorError_Unauthorized)


if __name__ == "__main__":
    unittest.main()
