//! The fetch phase of a run: every stream's listing read into the mirror,
//! several streams at once.
//!
//! The run's first call goes alone when the connector imports `state` (a
//! token it fetches is shared by every later call; a connector without
//! `state` cannot share one, and its streams start together); then the
//! streams (lookups, companies, sites, contacts,
//! assets, agreements, tickets) are read side by side, up to the
//! integration's concurrency of them, started in dependency order
//! (concurrency 1 is the plain sequential order). They do not depend on
//! each other for reading: apply, which relates them, runs after all of
//! them, so `lookups` no longer holds the others back for its round trips.
//! What stays as it was:
//!
//! - **rate limit**: every read goes through the one session, so the streams
//!   share its rate limiter and request budget; concurrency overlaps waiting
//!   for the PSA, never adds requests beyond the limit;
//! - **commits**: each stream's pages are committed in the order they were
//!   read, each with its checkpoint, one transaction at a time through the
//!   run's one store connection. All streams are polled by one task, and a
//!   commit is synchronous, so two commits never overlap and the store is
//!   never borrowed across an `.await`;
//! - **read-ahead**: one page per stream — the next page is read while the
//!   previous one is committed, never further (cursors are opaque);
//! - **failures**: a stream's failure ends that stream only; a run-stopping
//!   error (unauthorized, invalid config, unreachable, the run's record cap)
//!   halts the streams in flight at once — their reads are dropped, their
//!   checkpoints stay at their last commit — and starts no other; a stop
//!   request or the run's time limit ends each stream after its page in
//!   flight (they share the bounds) and starts no other;
//! - **the first call goes alone**: no second stream starts before the
//!   run's first `read` has answered, so a connector that keeps a token in
//!   its state (contract 0.3) fetches it once and every later call finds
//!   it, rather than one token per stream started at the same moment.

use std::cell::{Cell, RefCell};

use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Notify;

use super::stream::{Bounds, Committed, PageRequest, ReadResult, Stop, StreamEnd, StreamRun};
use super::{Observer, RunPlan, SyncError};
use crate::model::StreamId;
use crate::runtime::Session;
use crate::store::{RunStreamRow, Store, StoreError};

/// How one stream's part in the fetch ended.
pub(super) struct Ended {
    /// Where the stream is in the run's dependency order.
    pub index: usize,
    /// The stream's counts as of its last commit.
    pub row: RunStreamRow,
    /// `None`: never started (an earlier stream stopped the run).
    pub end: Option<StreamEnd>,
}

/// A stream's reading ended: its place in the run's order, its listing
/// (counts as of the last commit) and why it ended; or the database failed.
type StreamDone = Result<(usize, StreamRun, StreamEnd), SyncError>;

/// A one-way flag that can be awaited: raised by a run-stopping error
/// (streams in flight stop at once), and by the run's first answer (more
/// streams may start).
#[derive(Default)]
struct Flag {
    raised: Cell<bool>,
    notify: Notify,
}

impl Flag {
    fn raise(&self) {
        self.raised.set(true);
        self.notify.notify_waiters();
    }

    fn raised(&self) -> bool {
        self.raised.get()
    }

    /// Resolves once raised (at once if it already is).
    async fn wait(&self) {
        // Created before the check, so a raise in between still wakes it.
        let notified = self.notify.notified();
        if self.raised() {
            return;
        }
        notified.await;
    }
}

/// What every stream of one run's fetch shares.
pub(super) struct Fetch<'a, 'r> {
    /// The run's one connection; borrowed only in synchronous sections.
    store: RefCell<&'a mut Store>,
    session: &'a Session<'r>,
    plan: &'a RunPlan<'a>,
    run_id: i64,
    bounds: &'a Bounds<'a>,
    /// Records fetched by the run, all streams together.
    run_records: Cell<u64>,
    halt: Flag,
    /// Raised when the run's first `read` call has answered.
    first_answer: Flag,
}

impl<'a, 'r> Fetch<'a, 'r> {
    pub(super) fn new(
        store: &'a mut Store,
        session: &'a Session<'r>,
        plan: &'a RunPlan<'a>,
        run_id: i64,
        bounds: &'a Bounds<'a>,
    ) -> Self {
        Fetch {
            store: RefCell::new(store),
            session,
            plan,
            run_id,
            bounds,
            run_records: Cell::new(0),
            halt: Flag::default(),
            first_answer: Flag::default(),
        }
    }

    fn observer(&self) -> &dyn Observer {
        self.plan.observer
    }

    /// Read the plan's streams, up to `concurrency` at once, and hand each
    /// to `ended` (with the store) as it ends, in the order they end;
    /// streams never started are handed over last, in dependency order.
    /// A database failure stops everything and is returned.
    pub(super) async fn run(
        &self,
        concurrency: usize,
        mut ended: impl FnMut(&mut Store, Ended) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        let streams = self.plan.streams;
        let mut running: FuturesUnordered<LocalBoxFuture<'_, StreamDone>> = FuturesUnordered::new();
        let mut next = 0;
        // Set by a stream that ended the run (fatal, stopped, out of time):
        // nothing more starts.
        let mut stopping = false;
        loop {
            while !stopping && running.len() < concurrency.max(1) && next < streams.len() {
                let stream = &streams[next];
                // The first call goes alone when the connector may keep a
                // token in `state` for the others.
                if !running.is_empty() && self.waiting_for_first_answer() {
                    break;
                }
                let listing = self.start(stream)?;
                running.push(Box::pin(self.read_stream(next, listing)));
                next += 1;
            }
            let done = if running.is_empty() || !self.waiting_for_first_answer() {
                running.next().await
            } else {
                tokio::select! {
                    done = running.next() => done,
                    // More streams may start now.
                    () = self.first_answer.wait() => continue,
                }
            };
            let Some(done) = done else { break };
            let (index, listing, end) = done?;
            match &end {
                StreamEnd::Fatal { .. } => {
                    stopping = true;
                    self.halt.raise();
                }
                StreamEnd::Interrupted(_) => stopping = true,
                StreamEnd::Complete | StreamEnd::Failed { .. } => {}
            }
            ended(&mut self.store.borrow_mut(), Ended { index, row: listing.row, end: Some(end) })?;
        }
        for (index, stream) in streams.iter().enumerate().skip(next) {
            ended(&mut self.store.borrow_mut(), Ended { index, row: RunStreamRow::new(stream.clone()), end: None })?;
        }
        Ok(())
    }

    /// More streams must wait for the run's first answer: the connector may
    /// keep a token in `state` that the first call fetches.
    fn waiting_for_first_answer(&self) -> bool {
        self.session.calls_may_share_state() && !self.first_answer.raised()
    }

    /// Plan a stream's listing and record it as running, so the run's
    /// streams are listed in dependency order whatever order they end in.
    fn start(&self, stream: &StreamId) -> Result<StreamRun, StoreError> {
        let plan = self.plan;
        let mut store = self.store.borrow_mut();
        let listing =
            StreamRun::plan(&mut store, plan.integration, plan.info, plan.request.mode, self.run_id, stream.clone())?;
        store.transaction(|tx| tx.put_run_stream(self.run_id, &listing.row))?;
        drop(store);
        self.observer().stream_started(stream, listing.resumed());
        Ok(listing)
    }

    /// Read one stream to its end (or until it must stop), page by page.
    /// While a page is committed, the connector already asks the PSA for
    /// the next one: the PSA's response time and the write overlap. Pages
    /// are still committed one after another, each with its checkpoint, so
    /// a crash loses at most the page in flight.
    async fn read_stream(&self, index: usize, mut listing: StreamRun) -> StreamDone {
        // The next page, when it was read while the previous one was committed.
        let mut prefetched: Option<ReadResult> = None;
        loop {
            let read = match prefetched.take() {
                Some(read) => read,
                None => match self.next_page(&listing) {
                    Ok(next) => match self.read(next).await {
                        Some(read) => read,
                        None => return Ok((index, listing, StreamEnd::Interrupted(Stop::RunFailed))),
                    },
                    Err(end) => return Ok((index, listing, end)),
                },
            };
            // Asked to stop, the gate answers the requests it had not sent
            // yet with a refusal: a read that failed then is interrupted,
            // not failed, and resumes at its cursor.
            if self.bounds.cancelled() && !matches!(read, Ok(Ok(_))) {
                return Ok((index, listing, StreamEnd::Interrupted(Stop::Requested)));
            }
            let mut run_records = self.run_records.get();
            let checked = listing.check(read, self.session.redactor(), self.bounds, &mut run_records);
            self.run_records.set(run_records);
            let page = match checked {
                Ok(page) => page,
                Err(end) => return Ok((index, listing, end)),
            };
            let ahead = if page.done { None } else { self.next_page(&listing).ok() };
            let mut halted = false;
            let committed = match ahead {
                Some(next) => {
                    let (read, committed) = tokio::join!(self.read(next), async { self.commit(&listing, &page) });
                    match read {
                        Some(read) => prefetched = Some(read),
                        None => halted = true,
                    }
                    committed?
                }
                None => self.commit(&listing, &page)?,
            };
            listing.committed(committed);
            self.observer().page(listing.stream(), listing.row.fetched, page.total);
            if page.done {
                return Ok((index, listing, StreamEnd::Complete));
            }
            if halted {
                return Ok((index, listing, StreamEnd::Interrupted(Stop::RunFailed)));
            }
        }
    }

    /// The stream's next page, unless the run is halted or the stream must
    /// stop.
    fn next_page(&self, listing: &StreamRun) -> Result<PageRequest, StreamEnd> {
        if self.halt.raised() {
            return Err(StreamEnd::Interrupted(Stop::RunFailed));
        }
        listing.next_page(self.bounds)
    }

    /// One `read` call; `None` when a run-stopping error elsewhere halted
    /// it (the call is dropped, as a timed-out one is).
    async fn read(&self, next: PageRequest) -> Option<ReadResult> {
        tokio::select! {
            biased;
            () = self.halt.wait() => None,
            read = self.session.read(&next.stream, next.cursor, next.since) => {
                self.first_answer.raise();
                Some(read)
            }
        }
    }

    fn commit(&self, listing: &StreamRun, page: &super::stream::CheckedPage) -> Result<Committed, StoreError> {
        listing.commit(&mut self.store.borrow_mut(), page)
    }
}
