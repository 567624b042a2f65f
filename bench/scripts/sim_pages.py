#!/usr/bin/env python3
"""Time pages of the simulators alone: python3 sim_pages.py FERRY_SIM_BINARY syncro|cw [COMPANIES]."""
import http.client, json, subprocess, sys, time, re, base64, statistics
binary, psa = sys.argv[1], sys.argv[2]
companies = int(sys.argv[3]) if len(sys.argv) > 3 else 16000
args = [binary, psa, "--companies", str(companies), "--contacts-per-company", "10", "--assets-per-company", "50", "--tickets-per-company", "1"]
t0 = time.time()
p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
line = p.stdout.readline()
m = re.search(r"http://127\.0\.0\.1:(\d+)(\S*)", line)
port, prefix = int(m.group(1)), m.group(2)
startup = time.time() - t0
conn = http.client.HTTPConnection("127.0.0.1", port)
if psa == "syncro":
    headers = {"Authorization": "Bearer sim-syncro-token"}
else:
    prefix = "/v4_6_release/apis/3.0"
    headers = {"Authorization": "Basic " + base64.b64encode(b"simmsp+sim-public-key:sim-private-key").decode(), "clientId": "3c0b6d4a-7f1e-4b8e-9a51-2f6d0c9e8b71"}
def get(path):
    t = time.perf_counter()
    conn.request("GET", prefix + path, headers=headers)
    r = conn.getresponse(); body = r.read()
    assert r.status == 200, (r.status, body[:200])
    return time.perf_counter() - t, body
def sample(name, make, pages):
    times = [get(make(n))[0] * 1000 for n in pages]
    print(f"{psa} {name}: pages {pages[0]}..{pages[-1]}: median {statistics.median(times):.2f} ms, max {max(times):.2f} ms")
if psa == "syncro":
    _, b = get("/customer_assets?page=1"); last = json.loads(b)["meta"]["total_pages"]
    sample("assets first", lambda n: f"/customer_assets?page={n}", list(range(1, 21)))
    sample("assets last", lambda n: f"/customer_assets?page={n}", list(range(last - 19, last + 1)))
    _, b = get("/customers?page=1&include_disabled=true"); lastc = json.loads(b)["meta"]["total_pages"]
    sample("customers", lambda n: f"/customers?page={n}&include_disabled=true", list(range(1, lastc + 1)))
    sample("customers newest first", lambda n: f"/customers?page={n}&include_disabled=true&sort=updated_at%20DESC", list(range(1, 21)))
else:
    sample("configurations", lambda n: f"/company/configurations?pageSize=1000&orderBy=id%20asc&page={n}", list(range(1, 21)))
    sample("agreements active", lambda n: f"/finance/agreements?pageSize=1000&orderBy=id%20asc&page={n}&conditions=agreementStatus%20%3D%20%22Active%22", list(range(1, 6)))
    _, b = get("/company/companies?pageSize=1000&fields=id&page=1"); ids = [c["id"] for c in json.loads(b)][:200]
    sample("sites of one company", lambda n: f"/company/companies/{n}/sites?pageSize=1000&page=1", ids)
print(f"{psa} startup {startup:.1f} s")
p.terminate()
