//! Shared helpers for Ferry's end-to-end tests: run the real `ferry` binary
//! against a real SQLite file in a temp dir, with the simulators serving on
//! 127.0.0.1 from this test process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ferry_sim::cw::{CwData, CwOptions};
use ferry_sim::syncro::{SyncroData, SyncroOptions};
use ferry_sim::{Scale, Simulator, World};
use serde_json::Value;

/// Where the built connector components are (set by host/build.rs).
pub fn artifact(stem: &str) -> PathBuf {
    Path::new(env!("FERRY_CONNECTOR_ARTIFACTS")).join(format!("{stem}.wasm"))
}

/// A simulator with the runtime that serves it.
pub struct Sim {
    pub sim: Simulator,
    _rt: tokio::runtime::Runtime,
}

impl std::ops::Deref for Sim {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.sim
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime")
}

pub const SYNCRO_TOKEN: &str = "test-syncro-token-8c1d";

pub fn syncro_sim(world: &World) -> Sim {
    syncro_sim_with(world, SyncroOptions::default())
}

/// A Syncro simulator with other page sizes etc. (the token is the tests').
pub fn syncro_sim_with(world: &World, options: SyncroOptions) -> Sim {
    let rt = runtime();
    let options = SyncroOptions { token: SYNCRO_TOKEN.into(), ..options };
    let sim = rt.block_on(ferry_sim::syncro::start(SyncroData::from_world(world), options)).expect("start syncro sim");
    Sim { sim, _rt: rt }
}

/// `--set`/`--secret` arguments of a Syncro connector (any build of it)
/// pointed at the simulator.
pub fn syncro_settings(sim: &Simulator) -> Vec<String> {
    [
        "--set",
        "subdomain=sim",
        "--set",
        &format!("base_url={}", sim.api_url()),
        "--secret",
        &format!("api_key={SYNCRO_TOKEN}"),
    ]
    .map(str::to_string)
    .to_vec()
}

/// A Syncro simulator serving a hand-made data set.
pub fn syncro_sim_data(data: SyncroData) -> Sim {
    let rt = runtime();
    let options = SyncroOptions { token: SYNCRO_TOKEN.into(), ..SyncroOptions::default() };
    let sim = rt.block_on(ferry_sim::syncro::start(data, options)).expect("start syncro sim");
    Sim { sim, _rt: rt }
}

pub fn cw_options() -> CwOptions {
    CwOptions {
        company_id: "testmsp".into(),
        public_key: "pubkey-1f2e".into(),
        private_key: "privkey-9d8c7b6a".into(),
        client_id: "5f1c2b3a-0000-4000-8000-00000000c0de".into(),
        port: 0,
    }
}

pub fn cw_sim(world: &World) -> Sim {
    let rt = runtime();
    let sim = rt.block_on(ferry_sim::cw::start(CwData::from_world(world), cw_options())).expect("start cw sim");
    Sim { sim, _rt: rt }
}

pub fn small_world() -> World {
    World::generate(11, &Scale::small())
}

/// One Ferry installation: a database in a temp dir.
pub struct Ferry {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub env: Vec<(String, String)>,
}

/// A finished `ferry` command.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// The JSON document an error was reported as on stderr (`--json`).
    pub fn json_error(&self) -> Value {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}):\n{}", self.stderr))
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Ferry {
    pub fn new() -> Ferry {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ferry.db");
        Ferry { dir, db, env: Vec::new() }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Ferry {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
        cmd.args(args)
            .env("FERRY_DB", &self.db)
            // One compile cache for the whole test run: a debug host
            // compiles a connector in ~1.6 s, loads a cached one in ms.
            .env("FERRY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("ferry-compiled"))
            .env_remove("RUST_LOG")
            .env_remove("FERRY_NOW")
            // Tests sync the same integration back to back on purpose; the
            // 2-minute deduplication has its own test.
            .env("FERRY_DEDUP_SECONDS", "0")
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run ferry"))
    }

    /// `ferry --json ARGS`, expecting success, parsed.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        self.run(&full).ok().json()
    }

    /// Add a Syncro integration against the simulator, fast (no rate pacing).
    pub fn add_syncro(&self, name: &str, sim: &Simulator) {
        let settings = syncro_settings(sim);
        let mut args = vec!["integration", "add", name, "--plugin", "syncro"];
        args.extend(settings.iter().map(String::as_str));
        self.run(&args).ok();
        self.unpaced(name);
    }

    /// Lift the rate limiter for tests that are not about it.
    pub fn unpaced(&self, name: &str) {
        self.run(&["rules", name, "option", "requests-per-minute=1000000"]).ok();
    }

    pub fn add_cw(&self, name: &str, sim: &Simulator) {
        let o = cw_options();
        self.run(&[
            "integration",
            "add",
            name,
            "--plugin",
            "cw-manage",
            "--set",
            "site=cw.example.com",
            "--set",
            &format!("base_url={}", sim.base_url()),
            "--set",
            &format!("company_id={}", o.company_id),
            "--set",
            &format!("public_key={}", o.public_key),
            "--set",
            &format!("client_id={}", o.client_id),
            "--secret",
            &format!("private_key={}", o.private_key),
        ])
        .ok();
        self.unpaced(name);
    }

    /// Live (not archived) assets as `asset list --json` gives them, plus
    /// the archived ones.
    pub fn assets(&self) -> (Vec<Value>, Vec<Value>) {
        let live = self.json(&["asset", "list"]).as_array().cloned().unwrap_or_default();
        let archived = self.json(&["asset", "list", "--archived"]).as_array().cloned().unwrap_or_default();
        (live, archived)
    }

    /// Count rows of a documentation table straight from SQLite.
    pub fn count(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        conn.query_row(sql, [], |r| r.get(0)).expect("count query")
    }

    /// A fingerprint of the documentation tables (to prove "unchanged").
    pub fn docs_fingerprint(&self) -> String {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        let mut out = String::new();
        for sql in [
            "SELECT id, name, domain, phone, archived_at, updated_at FROM companies ORDER BY id",
            "SELECT id, company_id, layout_id, name, archived_at, updated_at FROM assets ORDER BY id",
            "SELECT id, name, active, identity FROM layouts ORDER BY id",
            "SELECT integration_id, stream, external_id, doc_id, hash, archived_at, updated_at FROM cards ORDER BY id",
            "SELECT asset_id, field, value FROM asset_fields ORDER BY asset_id, field",
        ] {
            let mut stmt = match conn.prepare(sql) {
                Ok(s) => s,
                Err(_) => continue,
            };
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut line = Vec::new();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        line.push(format!("{v:?}"));
                    }
                    Ok(line.join("|"))
                })
                .expect("query");
            for row in rows {
                out.push_str(&row.expect("row"));
                out.push('\n');
            }
        }
        out
    }
}

/// Rows of `sql` (every column as text), one line each.
fn dump(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        let mut line = Vec::new();
        for i in 0..n {
            line.push(match r.get::<_, rusqlite::types::Value>(i)? {
                rusqlite::types::Value::Null => "NULL".to_string(),
                rusqlite::types::Value::Integer(v) => v.to_string(),
                rusqlite::types::Value::Real(v) => v.to_string(),
                rusqlite::types::Value::Text(v) => v,
                rusqlite::types::Value::Blob(v) => format!("{} bytes", v.len()),
            });
        }
        Ok(line.join("|"))
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}

/// Assert two dumps ([`Ferry::mirror`], [`Ferry::documentation`]) are equal,
/// showing the first lines that differ rather than both dumps.
#[track_caller]
pub fn assert_same(got: &[String], want: &[String], what: &str) {
    if got == want {
        return;
    }
    let only = |a: &[String], b: &[String]| -> Vec<String> {
        let b: std::collections::HashSet<&String> = b.iter().collect();
        a.iter().filter(|l| !b.contains(l)).take(5).map(|l| l.chars().take(300).collect()).collect()
    };
    panic!(
        "{what} differ ({} lines against {}):\nonly in got: {:#?}\nonly in want: {:#?}",
        got.len(),
        want.len(),
        only(got, want),
        only(want, got)
    );
}

impl Ferry {
    /// The PSA mirror as content: what each stream holds, whether deleted,
    /// without row ids, runs or timestamps (two databases fed the same PSA
    /// compare equal).
    pub fn mirror(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        dump(
            &conn,
            "SELECT stream, external_id, company_ext_id, hash, data, psa_updated_at, deleted_at IS NULL FROM mirror
             ORDER BY stream, external_id",
        )
    }

    /// The documentation as content: companies, assets, cards, company
    /// links and tickets, without row ids or timestamps.
    pub fn documentation(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        let mut out = Vec::new();
        for sql in [
            "SELECT 'company', name, domain, phone, archived_at IS NULL, created_by FROM companies",
            "SELECT 'asset', c.name, l.name, a.name, a.archived_at IS NULL FROM assets a
             JOIN companies c ON c.id = a.company_id JOIN layouts l ON l.id = a.layout_id",
            "SELECT 'card', stream, external_id, doc_kind, title, fields_json, hash, identity, archived_at IS NULL
             FROM cards",
            "SELECT 'link', k.external_id, k.state, c.name, k.score, k.reason FROM company_links k
             LEFT JOIN companies c ON c.id = k.company_id",
            "SELECT 'ticket', t.external_id, c.name, number, subject, status, stage, closed, priority, type_name,
             board, t.created_at, t.updated_at, resolved_at, t.fields_json, t.hash FROM tickets t
             JOIN companies c ON c.id = t.company_id",
        ] {
            out.extend(dump(&conn, sql));
        }
        out.sort();
        out
    }
}

/// Kill a `ferry` child outright (SIGKILL: no cleanup of any kind).
pub fn kill(child: &mut std::process::Child) {
    let _ = Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
    let _ = child.wait();
}

/// `PRAGMA integrity_check` of the database.
pub fn integrity(ferry: &Ferry) -> String {
    let conn = rusqlite::Connection::open(&ferry.db).expect("open");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check")
}

/// Poll until `f` holds (a state to reach, not a time to wait): false when
/// `limit` passed first.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}
