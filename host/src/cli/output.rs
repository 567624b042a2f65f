//! Terminal and JSON output: tables for people, JSON for scripts, progress
//! bars only on a terminal, errors as "error: cause" plus "hint: next step".

use std::io::{IsTerminal, Write};
use std::time::Duration;

use comfy_table::{ContentArrangement, LineStyle, Table, TableStyle};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::Failure;

#[derive(Debug, Clone)]
pub struct Out {
    pub json: bool,
    terminal: bool,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Out { json, terminal: std::io::stderr().is_terminal() && std::io::stdout().is_terminal() }
    }

    /// Print a value as pretty JSON on stdout.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// A line for people (suppressed under --json).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", text.as_ref());
        }
    }

    /// A note on stderr that does not belong in piped output.
    pub fn note(&self, text: impl AsRef<str>) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", text.as_ref());
    }

    pub fn table(&self, headers: &[&str], rows: Vec<Vec<String>>) {
        if self.json {
            return;
        }
        // Plain columns with a rule under the header: readable on a
        // terminal, greppable in a pipe.
        let rule = if self.terminal { '─' } else { '-' };
        let style = TableStyle::new().header_separator(LineStyle::none().fill(rule).junction(rule));
        let mut table = Table::new();
        table.load_style(style).set_content_arrangement(ContentArrangement::Dynamic);
        table.set_header(headers.to_vec());
        for row in rows {
            table.add_row(row);
        }
        self.line(table.to_string());
    }

    /// Key/value lines, aligned.
    pub fn pairs(&self, pairs: &[(&str, String)]) {
        if self.json {
            return;
        }
        let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in pairs {
            self.line(format!("{k:width$}  {v}"));
        }
    }

    pub fn failure(&self, f: &Failure) {
        if self.json {
            #[derive(Serialize)]
            struct J<'a> {
                error: &'a str,
                hint: Option<&'a str>,
                exit_code: u8,
            }
            // Errors go to stderr even in JSON mode so stdout stays parseable.
            let text = serde_json::to_string(&J { error: &f.message, hint: f.hint.as_deref(), exit_code: f.code })
                .unwrap_or_default();
            self.note(text);
        } else {
            // One line of cause, one of next step, whatever the source said.
            let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            self.note(format!("error: {}", one_line(&f.message)));
            if let Some(h) = &f.hint {
                self.note(format!("hint: {}", one_line(h)));
            }
        }
    }

    /// A spinner/progress bar on a terminal; a hidden one otherwise.
    pub fn progress(&self, message: &str) -> ProgressBar {
        if self.json || !self.terminal {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {pos} records ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

/// Once the connector says how many records a stream has (`page.total`),
/// its spinner becomes a bar with an ETA.
pub fn show_total(bar: &ProgressBar, total: u64) {
    if bar.is_hidden() || bar.length() == Some(total) {
        return;
    }
    bar.set_length(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} records ({elapsed}, ~{eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
}

/// "12.3 s" / "850 ms".
pub fn duration(ms: u64) -> String {
    if ms >= 1000 { format!("{:.1} s", ms as f64 / 1000.0) } else { format!("{ms} ms") }
}

pub fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}
