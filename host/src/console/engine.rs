//! The console's engine thread: everything that runs a connector (add,
//! change, test an integration; syncs; the schedules with `--schedules`)
//! runs here, on one thread with its own single-threaded async runtime, the
//! way the CLI and the daemon run them — each job on its own database
//! connection, syncs concurrently, one per integration (the sync lock
//! decides). Web handlers send jobs and await the reply; a sync's progress
//! is published in [`Progress`] for the dashboard's live bar.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use super::error::Problem;
use crate::integrations::{self, TestOutcome};
use crate::model::StreamId;
use crate::runtime::Runtime;
use crate::schedule::daemon::{self, DaemonOptions};
use crate::store::{RunStreamRow, Store};
use crate::sync::{self, Observer, Quiet, SyncReport, SyncRequest};

/// What a connection test said, for the page and the API.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TestVerdict {
    pub integration: String,
    pub ok: bool,
    #[serde(flatten)]
    pub report: Option<crate::model::CheckReport>,
    pub error: Option<String>,
    pub hint: Option<String>,
}

/// Config values and secrets for add/set, as the CLI's `--set`/`--secret`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigChange {
    pub values: Vec<(String, String)>,
    pub secrets: Vec<(String, String)>,
    pub accept_normalised: bool,
}

impl ConfigChange {
    /// The console and the API take secret values, never `env:VAR`
    /// references: a reference reads the environment of `ferry serve`, and
    /// whoever holds the admin token could point a test connection at a host
    /// of theirs and receive any variable of the server (cloud keys, other
    /// credentials). Only someone with a shell on the server, who can read
    /// its environment anyway, chooses references (`ferry integration set`).
    fn refuse_environment_references(&self) -> Result<(), Problem> {
        match self.secrets.iter().find(|(_, value)| value.trim_start().starts_with("env:")) {
            Some((key, _)) => Err(Problem::bad_request(
                format!(
                    "secret `{key}`: the console takes secret values, not `env:` references to the server's environment"
                ),
                format!(
                    "enter the value itself, or set the reference from a shell on the server: \
                     `ferry integration set NAME --secret {key}=env:VARIABLE`"
                ),
            )),
            None => Ok(()),
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, Problem>>;

enum Job {
    Test {
        integration: String,
        reply: Reply<TestVerdict>,
    },
    Add {
        name: String,
        plugin: String,
        change: ConfigChange,
        reply: Reply<Vec<String>>,
    },
    Set {
        name: String,
        change: ConfigChange,
        reply: Reply<Vec<String>>,
    },
    /// `started` is answered once the sync runs (its first stream began) or
    /// could not start (already syncing...), whichever comes first.
    Sync {
        request: SyncRequest,
        reply: Option<Reply<SyncReport>>,
        started: Option<Reply<()>>,
    },
}

/// Live state of one sync started from the console.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct Live {
    pub stream: Option<StreamId>,
    pub fetched: u64,
    pub total: Option<u64>,
    pub applying: bool,
    pub streams_done: usize,
}

/// Syncs in flight, by integration; `version` ticks on every change so the
/// server-sent events stream knows when to send.
#[derive(Clone)]
pub(crate) struct Progress {
    live: Arc<Mutex<BTreeMap<String, Live>>>,
    /// Syncs asked for from a page that did not start (already syncing,
    /// unknown stream...): shown on the dashboard until the next one.
    refused: Arc<Mutex<BTreeMap<String, Problem>>>,
    version: Arc<watch::Sender<u64>>,
    /// Set when the console stops: event streams end.
    closing: Arc<AtomicBool>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            live: Arc::new(Mutex::new(BTreeMap::new())),
            refused: Arc::new(Mutex::new(BTreeMap::new())),
            version: Arc::new(watch::channel(0).0),
            closing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Why the last sync asked for from a page did not run, if it did not.
    pub(crate) fn refused(&self, integration: &str) -> Option<Problem> {
        self.refused.lock().ok().and_then(|r| r.get(integration).cloned())
    }

    fn refuse(&self, integration: &str, problem: Option<Problem>) {
        if let Ok(mut r) = self.refused.lock() {
            match problem {
                Some(p) => r.insert(integration.to_string(), p),
                None => r.remove(integration),
            };
        }
    }

    pub(crate) fn closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.version.send_modify(|v| *v += 1);
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, Live> {
        self.live.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    fn update(&self, integration: &str, f: impl FnOnce(&mut Live)) {
        if let Ok(mut live) = self.live.lock() {
            f(live.entry(integration.to_string()).or_default());
        }
        self.version.send_modify(|v| *v += 1);
    }

    fn finish(&self, integration: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(integration);
        }
        self.version.send_modify(|v| *v += 1);
    }
}

/// The observer of one console sync: feeds [`Progress`].
struct LiveObserver {
    integration: String,
    progress: Progress,
    started: Mutex<Option<Reply<()>>>,
}

impl LiveObserver {
    /// Tell whoever waits for the start (once).
    fn started(&self, outcome: Result<(), Problem>) {
        if let Some(reply) = self.started.lock().ok().and_then(|mut s| s.take()) {
            let _ = reply.send(outcome);
        }
    }
}

impl Observer for LiveObserver {
    fn stream_started(&self, stream: &StreamId, _resumed: bool) {
        self.started(Ok(()));
        self.progress.update(&self.integration, |l| {
            l.stream = Some(stream.clone());
            l.fetched = 0;
            l.total = None;
        });
    }
    fn page(&self, _stream: &StreamId, fetched: u64, total: Option<u64>) {
        self.progress.update(&self.integration, |l| {
            l.fetched = fetched;
            l.total = total;
        });
    }
    fn stream_finished(&self, _row: &RunStreamRow) {
        self.progress.update(&self.integration, |l| l.streams_done += 1);
    }
    fn applying(&self) {
        self.started(Ok(()));
        self.progress.update(&self.integration, |l| l.applying = true);
    }
}

/// The handle web handlers hold.
pub(crate) struct Engine {
    jobs: mpsc::UnboundedSender<Job>,
    pub progress: Progress,
    /// Set on shutdown: syncs and the schedules stop after their page in
    /// flight, checkpointed.
    pub cancel: Arc<AtomicBool>,
    /// Ticks when a sync ends (the notifier looks for failed runs then).
    pub finished: Arc<tokio::sync::Notify>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Engine {
    /// Start the engine thread with the runtime the CLI opened.
    pub(crate) fn start(db: PathBuf, runtime: Runtime, schedules: bool) -> std::io::Result<Engine> {
        let (tx, rx) = mpsc::unbounded_channel();
        let progress = Progress::new();
        let cancel = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(tokio::sync::Notify::new());
        let ctx = Context { db, progress: progress.clone(), cancel: cancel.clone(), finished: finished.clone() };
        let thread = std::thread::Builder::new().name("ferry-engine".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "the console's engine cannot start");
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, run(ctx, Rc::new(runtime), rx, schedules));
        })?;
        Ok(Engine { jobs: tx, progress, cancel, finished, thread: Mutex::new(Some(thread)) })
    }

    async fn ask<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, Problem> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(job(reply)).map_err(|_| Problem::internal("the console's engine has stopped"))?;
        answer.await.map_err(|_| Problem::internal("the console's engine dropped the request"))?
    }

    pub(crate) async fn test(&self, integration: &str) -> Result<TestVerdict, Problem> {
        self.ask(|reply| Job::Test { integration: integration.to_string(), reply }).await
    }

    /// Add an integration; returns the connector's notices.
    pub(crate) async fn add(&self, name: &str, plugin: &str, change: ConfigChange) -> Result<Vec<String>, Problem> {
        change.refuse_environment_references()?;
        self.ask(|reply| Job::Add { name: name.to_string(), plugin: plugin.to_string(), change, reply }).await
    }

    pub(crate) async fn set(&self, name: &str, change: ConfigChange) -> Result<Vec<String>, Problem> {
        change.refuse_environment_references()?;
        self.ask(|reply| Job::Set { name: name.to_string(), change, reply }).await
    }

    /// Run a sync and wait for its report (the API).
    pub(crate) async fn sync(&self, request: SyncRequest) -> Result<SyncReport, Problem> {
        self.ask(|reply| Job::Sync { request, reply: Some(reply), started: None }).await
    }

    /// Start a sync in the background (the pages: progress shows live);
    /// returns once it runs, or with why it could not start (another sync
    /// of the integration holds its lock...), so the page never says
    /// "started" for a sync that did not.
    pub(crate) async fn start_sync(&self, request: SyncRequest) -> Result<(), Problem> {
        self.ask(|started| Job::Sync { request, reply: None, started: Some(started) }).await
    }

    /// The console is stopping: syncs and schedules end after the page in
    /// flight, event streams end (so graceful shutdown is not held open).
    pub(crate) fn stopping(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.progress.close();
    }

    /// Stop and wait for the engine thread.
    pub(crate) fn stop(&self) {
        self.stopping();
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle {
            // Closing the channel ends the job loop once the jobs in flight end.
            let _ = handle.join();
        }
    }
}

#[derive(Clone)]
struct Context {
    db: PathBuf,
    progress: Progress,
    cancel: Arc<AtomicBool>,
    finished: Arc<tokio::sync::Notify>,
}

async fn run(ctx: Context, runtime: Rc<Runtime>, mut jobs: mpsc::UnboundedReceiver<Job>, schedules: bool) {
    let mut tasks = tokio::task::JoinSet::new();
    if schedules {
        let (ctx, runtime) = (ctx.clone(), runtime.clone());
        tasks.spawn_local(async move {
            match Store::open(&ctx.db) {
                Ok(mut store) => {
                    let options = DaemonOptions { once: false };
                    if let Err(e) = daemon::run(&mut store, &runtime, &options, ctx.cancel.clone(), &Quiet).await {
                        tracing::error!(error = %e, "the schedules stopped");
                    }
                }
                Err(e) => tracing::error!(error = %e, "the schedules cannot open the database"),
            }
        });
    }
    loop {
        let job = tokio::select! {
            job = jobs.recv() => job,
            _ = wait_cancel(ctx.cancel.clone()) => None,
        };
        let Some(job) = job else { break };
        let (ctx, runtime) = (ctx.clone(), runtime.clone());
        tasks.spawn_local(async move { handle(ctx, &runtime, job).await });
    }
    while tasks.join_next().await.is_some() {}
}

async fn wait_cancel(flag: Arc<AtomicBool>) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn open(ctx: &Context) -> Result<Store, Problem> {
    Store::open(&ctx.db).map_err(Problem::from)
}

async fn handle(ctx: Context, runtime: &Runtime, job: Job) {
    match job {
        Job::Test { integration, reply } => {
            let result = async {
                let store = open(&ctx)?;
                let outcome = integrations::test_connection(&store, runtime, &integration).await?;
                Ok(match outcome {
                    TestOutcome::Passed(report) => {
                        TestVerdict { integration, ok: true, report: Some(report), error: None, hint: None }
                    }
                    TestOutcome::Failed(e) => TestVerdict {
                        integration,
                        ok: false,
                        report: None,
                        error: Some(e.to_string()),
                        hint: Some(e.hint()),
                    },
                    TestOutcome::Crashed(e) => {
                        TestVerdict { integration, ok: false, report: None, error: Some(e.to_string()), hint: e.hint() }
                    }
                })
            }
            .await;
            let _ = reply.send(result);
        }
        Job::Add { name, plugin, change, reply } => {
            let result = async {
                let mut store = open(&ctx)?;
                let (_, saved) = integrations::add(
                    &mut store,
                    runtime,
                    &name,
                    &plugin,
                    &change.values,
                    &change.secrets,
                    change.accept_normalised,
                )
                .await?;
                Ok(saved.notices)
            }
            .await;
            let _ = reply.send(result);
        }
        Job::Set { name, change, reply } => {
            let result = async {
                let mut store = open(&ctx)?;
                let (_, saved) = integrations::set(
                    &mut store,
                    runtime,
                    &name,
                    &change.values,
                    &change.secrets,
                    change.accept_normalised,
                )
                .await?;
                Ok(saved.notices)
            }
            .await;
            let _ = reply.send(result);
        }
        Job::Sync { mut request, reply, started } => {
            request.cancel = Some(ctx.cancel.clone());
            let name = request.integration.clone();
            let observer = LiveObserver {
                integration: name.clone(),
                progress: ctx.progress.clone(),
                started: Mutex::new(started),
            };
            ctx.progress.update(&name, |_| {});
            let result: Result<SyncReport, Problem> = async {
                let mut store = open(&ctx)?;
                Ok(sync::run(&mut store, runtime, &request, &observer).await?)
            }
            .await;
            ctx.progress.finish(&name);
            ctx.finished.notify_waiters();
            observer.started(result.as_ref().map(|_| ()).map_err(Clone::clone));
            match &result {
                Err(e) => {
                    tracing::warn!(integration = %name, error = %e.message, "console sync did not run");
                    ctx.progress.refuse(&name, Some(e.clone()));
                }
                Ok(_) => ctx.progress.refuse(&name, None),
            }
            if let Some(reply) = reply {
                let _ = reply.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_references_are_refused_and_values_taken() {
        let change = |secret: &str| ConfigChange {
            values: vec![],
            secrets: vec![("api_key".into(), secret.into())],
            accept_normalised: false,
        };
        for reference in ["env:AWS_SECRET_ACCESS_KEY", "  env:HOME", "env:"] {
            let e = change(reference).refuse_environment_references().expect_err(reference);
            assert!(e.json().to_string().contains("ferry integration set NAME --secret api_key=env:"), "{reference}");
        }
        assert!(change("plain-secret-value").refuse_environment_references().is_ok());
        assert!(change("value with env: inside").refuse_environment_references().is_ok());
    }
}
