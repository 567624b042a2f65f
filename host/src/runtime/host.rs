//! Per-call store state and the host side of the imports Ferry grants
//! (`ferry:connector/http`, `ferry:connector/log`, WASI with an empty
//! context).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::http::{HttpFailure, HttpGate, OutboundRequest};
use super::v0_1;
use crate::secrets::Redactor;

/// Longest connector log line kept.
const MAX_LOG_LINE: usize = 4096;
/// Log lines one call may emit before Ferry stops listening.
const MAX_LOG_LINES_PER_CALL: u32 = 2000;
/// Bytes of guest stderr kept (panic messages land there).
pub const STDERR_CAPACITY: usize = 64 * 1024;

/// Why the epoch callback stopped a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    Cpu,
}

pub struct HostState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limits: StoreLimits,
    pub(super) gate: Arc<HttpGate>,
    pub(super) redactor: Arc<Redactor>,
    pub(super) label: String,
    pub(super) stderr: MemoryOutputPipe,
    /// When the current call started and how long it spent waiting on HTTP,
    /// so the CPU budget counts only the guest's own work.
    pub(super) call_started: Instant,
    pub(super) io_time: Duration,
    pub(super) cpu_budget: Duration,
    pub(super) interrupted: Option<Interruption>,
    pub(super) log_lines: u32,
}

impl HostState {
    pub(super) fn guest_time(&self) -> Duration {
        self.call_started.elapsed().saturating_sub(self.io_time)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl v0_1::TypesHost for HostState {}

impl v0_1::HttpHost for HostState {
    async fn send(&mut self, req: v0_1::HttpRequest) -> wasmtime::Result<Result<v0_1::HttpResponse, v0_1::HttpError>> {
        let method = match req.method {
            v0_1::Method::Get => reqwest::Method::GET,
            v0_1::Method::Post => reqwest::Method::POST,
            v0_1::Method::Put => reqwest::Method::PUT,
            v0_1::Method::Patch => reqwest::Method::PATCH,
            v0_1::Method::Delete => reqwest::Method::DELETE,
            v0_1::Method::Head => reqwest::Method::HEAD,
        };
        let outbound = OutboundRequest { method, url: req.url, headers: req.headers, body: req.body };
        let started = Instant::now();
        let result = self.gate.send(outbound).await;
        self.io_time += started.elapsed();
        Ok(match result {
            Ok(r) => Ok(v0_1::HttpResponse { status: r.status, headers: r.headers, body: r.body }),
            Err(failure) => {
                tracing::debug!(connector = %self.label, error = %self.redactor.redact(&failure.to_string()), "http failure");
                Err(match failure {
                    HttpFailure::NotAllowed(why) => v0_1::HttpError::NotAllowed(why),
                    HttpFailure::InvalidUrl(why) => v0_1::HttpError::InvalidUrl(self.redactor.redact(&why)),
                    HttpFailure::Timeout(_) => v0_1::HttpError::Timeout,
                    HttpFailure::Unreachable(why) => v0_1::HttpError::Unreachable(self.redactor.redact(&why)),
                    HttpFailure::TooLarge(cap) => v0_1::HttpError::TooLarge(cap),
                    HttpFailure::BudgetExhausted(_) => v0_1::HttpError::BudgetExhausted,
                    HttpFailure::Other(why) => v0_1::HttpError::Other(self.redactor.redact(&why)),
                })
            }
        })
    }
}

impl v0_1::LogHost for HostState {
    async fn emit(&mut self, level: v0_1::LogLevel, message: String) -> wasmtime::Result<()> {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES_PER_CALL {
            if self.log_lines == MAX_LOG_LINES_PER_CALL + 1 {
                tracing::warn!(connector = %self.label, "connector logs too much; further lines of this call are dropped");
            }
            return Ok(());
        }
        let mut text = self.redactor.redact(&message);
        if text.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        let connector = self.label.as_str();
        match level {
            v0_1::LogLevel::Trace => {
                tracing::trace!(target: "ferry::connector", connector, "{text}")
            }
            v0_1::LogLevel::Debug => {
                tracing::debug!(target: "ferry::connector", connector, "{text}")
            }
            v0_1::LogLevel::Info => tracing::info!(target: "ferry::connector", connector, "{text}"),
            v0_1::LogLevel::Warn => tracing::warn!(target: "ferry::connector", connector, "{text}"),
            v0_1::LogLevel::Error => {
                tracing::error!(target: "ferry::connector", connector, "{text}")
            }
        }
        Ok(())
    }
}
