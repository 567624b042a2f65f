//! Per-call store state and the host side of the imports Ferry grants
//! (`ferry:connector/http`, `ferry:connector/log`, WASI with an empty
//! context).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::http::{HttpFailure, HttpGate, OutboundRequest, OutboundResponse};
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

impl HostState {
    /// The host side of `http.send`, shared by every contract version.
    pub(super) async fn http_send(
        &mut self,
        method: reqwest::Method,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<OutboundResponse, HttpFailure> {
        let outbound = OutboundRequest { method, url, headers, body };
        let started = Instant::now();
        let result = self.gate.send(outbound).await;
        self.io_time += started.elapsed();
        result.map_err(|failure| {
            tracing::debug!(connector = %self.label, error = %self.redactor.redact(&failure.to_string()), "http failure");
            match failure {
                HttpFailure::InvalidUrl(why) => HttpFailure::InvalidUrl(self.redactor.redact(&why)),
                HttpFailure::Unreachable(why) => HttpFailure::Unreachable(self.redactor.redact(&why)),
                HttpFailure::Other(why) => HttpFailure::Other(self.redactor.redact(&why)),
                other => other,
            }
        })
    }

    /// The host side of `log.emit`: scrubbed, bounded, into tracing.
    pub(super) fn log_emit(&mut self, level: tracing::Level, message: &str) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES_PER_CALL {
            if self.log_lines == MAX_LOG_LINES_PER_CALL + 1 {
                tracing::warn!(connector = %self.label, "connector logs too much; further lines of this call are dropped");
            }
            return;
        }
        let mut text = self.redactor.redact(message);
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
            tracing::Level::TRACE => tracing::trace!(target: "ferry::connector", connector, "{text}"),
            tracing::Level::DEBUG => tracing::debug!(target: "ferry::connector", connector, "{text}"),
            tracing::Level::INFO => tracing::info!(target: "ferry::connector", connector, "{text}"),
            tracing::Level::WARN => tracing::warn!(target: "ferry::connector", connector, "{text}"),
            _ => tracing::error!(target: "ferry::connector", connector, "{text}"),
        }
    }
}
