//! Terminal and JSON output: tables for people, JSON for scripts, progress
//! bars only on a terminal, errors as "error: cause" plus "hint: next step".
//!
//! This is the output gate: every piece of text printed for people goes
//! through [`crate::text`] here (control characters shown as escapes, cells
//! and lines capped), so commands may hand it whatever a PSA or a connector
//! said. Tables are written row by row with capped column widths, so their
//! memory and size do not grow with the longest value. JSON keeps exact
//! values; characters a terminal could act on are written as `\uXXXX`.

use std::io::{BufWriter, IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::Failure;
use crate::text::{self, CELL_WIDTH, ERROR_BYTES, LINE_BYTES};

#[derive(Debug, Clone)]
pub struct Out {
    pub json: bool,
    terminal: bool,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Out { json, terminal: std::io::stderr().is_terminal() && std::io::stdout().is_terminal() }
    }

    /// Print a value as pretty JSON on stdout, streamed.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) {
        let mut stdout = BufWriter::new(std::io::stdout().lock());
        let mut ser = serde_json::Serializer::with_formatter(&mut stdout, SafeJson::default());
        if let Err(e) = value.serialize(&mut ser) {
            let _ = write!(stdout, "{{\"error\": {}}}", serde_json::Value::String(e.to_string()));
        }
        let _ = writeln!(stdout);
        let _ = stdout.flush();
    }

    /// A line for people (suppressed under --json); shown safely, capped.
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", safe_line(text.as_ref(), LINE_BYTES));
        }
    }

    /// An empty line for people (a line itself cannot hold a newline).
    pub fn blank(&self) {
        self.line("");
    }

    /// A note on stderr that does not belong in piped output; shown safely,
    /// capped.
    pub fn note(&self, text: impl AsRef<str>) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", safe_line(text.as_ref(), LINE_BYTES));
    }

    /// A table, streamed: column widths come from the (capped) cells, then
    /// rows are written one by one. A cell is at most [`CELL_WIDTH`]
    /// columns; longer ones end in `…` (`--json` has every value whole).
    pub fn table(&self, headers: &[&str], rows: Vec<Vec<String>>) {
        if self.json {
            return;
        }
        let mut widths: Vec<usize> = headers.iter().map(|h| text::width(h)).collect();
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                let w = cell_width(cell);
                match widths.get_mut(i) {
                    Some(current) => *current = (*current).max(w),
                    None => widths.push(w),
                }
            }
        }
        let mut stdout = BufWriter::new(std::io::stdout().lock());
        let header: Vec<String> = headers.iter().map(|h| text::visible_capped(h, CELL_WIDTH)).collect();
        let _ = write_row(&mut stdout, &widths, &header);
        // Plain columns with a rule under the header: readable on a
        // terminal, greppable in a pipe.
        let rule = if self.terminal { "─" } else { "-" };
        let rules: Vec<String> = widths.iter().map(|w| rule.repeat(*w)).collect();
        let _ = write_row(&mut stdout, &widths, &rules);
        for row in &rows {
            let cells: Vec<String> = row.iter().map(|c| text::visible_capped(c, CELL_WIDTH)).collect();
            let _ = write_row(&mut stdout, &widths, &cells);
        }
        let _ = stdout.flush();
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
        let message = text::cap_bytes(&f.message, ERROR_BYTES);
        let hint = f.hint.as_deref().map(|h| text::cap_bytes(h, ERROR_BYTES));
        if self.json {
            #[derive(Serialize)]
            struct J<'a> {
                error: &'a str,
                hint: Option<&'a str>,
                exit_code: u8,
            }
            // Errors go to stderr even in JSON mode so stdout stays parseable.
            let mut text = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(&mut text, SafeJson::compact());
            let _ = J { error: &message, hint: hint.as_deref(), exit_code: f.code }.serialize(&mut ser);
            self.note(String::from_utf8_lossy(&text));
        } else {
            // One line of cause, one of next step, whatever the source said.
            self.note(format!("error: {message}"));
            if let Some(h) = &hint {
                self.note(format!("hint: {h}"));
            }
        }
    }

    /// Holds several progress bars on their own lines (streams read at
    /// once); draws nothing where [`Out::progress`] would not.
    pub fn progress_group(&self) -> MultiProgress {
        if self.json || !self.terminal {
            return MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        }
        MultiProgress::new()
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
        bar.set_message(text::visible_capped(message, CELL_WIDTH));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

/// A line as printed: control characters escaped, at most `max` bytes of
/// the original.
fn safe_line(s: &str, max: usize) -> String {
    text::visible(&text::cap_bytes(s, max)).into_owned()
}

/// Columns a cell takes once shown.
fn cell_width(cell: &str) -> usize {
    // Cheap for the common case; the capped form bounds the rest.
    if cell.len() <= CELL_WIDTH && !text::has_unsafe(cell) {
        text::width(cell)
    } else {
        text::width(&text::visible_capped(cell, CELL_WIDTH))
    }
}

fn write_row(w: &mut impl Write, widths: &[usize], cells: &[String]) -> std::io::Result<()> {
    let mut line = String::new();
    let last = cells.len().saturating_sub(1);
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if i < last {
            let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(text::width(cell));
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    writeln!(w, "{}", line.trim_end())
}

/// serde_json's formatter (pretty or compact), except that characters a
/// terminal may act on and JSON does not escape (DEL, C1 controls, Unicode
/// format characters such as bidi overrides) are written as `\uXXXX`: the
/// same JSON value, safe to show.
struct SafeJson {
    pretty: Option<serde_json::ser::PrettyFormatter<'static>>,
}

impl Default for SafeJson {
    fn default() -> Self {
        SafeJson { pretty: Some(serde_json::ser::PrettyFormatter::new()) }
    }
}

impl SafeJson {
    fn compact() -> Self {
        SafeJson { pretty: None }
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $name<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            match &mut self.pretty {
                Some(p) => p.$name(writer $(, $arg)*),
                None => serde_json::ser::CompactFormatter.$name(writer $(, $arg)*),
            }
        })*
    };
}

impl serde_json::ser::Formatter for SafeJson {
    delegate! {
        begin_array(),
        end_array(),
        begin_array_value(first: bool),
        end_array_value(),
        begin_object(),
        end_object(),
        begin_object_key(first: bool),
        end_object_key(),
        begin_object_value(),
        end_object_value(),
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> std::io::Result<()> {
        if !text::has_unsafe(fragment) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for c in fragment.chars() {
            if text::is_unsafe(c) {
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            } else {
                let mut buf = [0u8; 4];
                writer.write_all(c.encode_utf8(&mut buf).as_bytes())?;
            }
        }
        Ok(())
    }
}

/// Once the connector says how many records a stream has (`page.total`),
/// its spinner becomes a bar with an ETA.
pub(super) fn show_total(bar: &ProgressBar, total: u64) {
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
pub(super) fn duration(ms: u64) -> String {
    if ms >= 1000 { format!("{:.1} s", ms as f64 / 1000.0) } else { format!("{ms} ms") }
}

pub(super) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(w: &[usize], cells: &[&str]) -> String {
        let mut out = Vec::new();
        let cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        write_row(&mut out, w, &cells).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rows_are_padded_to_capped_widths() {
        assert_eq!(row(&[5, 3], &["ab", "c"]), "ab     c\n");
        assert_eq!(cell_width(&"x".repeat(900_000)), CELL_WIDTH);
        assert_eq!(cell_width("a\u{1b}b"), 4);
    }

    #[test]
    fn json_keeps_values_and_escapes_what_a_terminal_acts_on() {
        let value = serde_json::json!({"name": "Evil\u{1b}]0;x\u{7}\u{9b}\u{202e}\u{7f}\r\n\0 Corp \u{e0041} é"});
        for formatter in [SafeJson::default(), SafeJson::compact()] {
            let mut out = Vec::new();
            value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, formatter)).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(!text.chars().any(|c| text::is_unsafe(c) && c != '\n'), "{text:?}");
            assert!(text.contains("\\u202e") && text.contains("\\udb40\\udc41") && text.contains('é'), "{text}");
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value);
        }
    }
}
