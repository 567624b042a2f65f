//! Text from outside (a PSA, a connector) on its way to a person: the one
//! place that decides how control characters are shown and how long a
//! piece of text may be.
//!
//! Ferry prints names, errors and log lines that a PSA or a third-party
//! connector chose. Written raw, such text can drive the terminal (ESC
//! sequences set the title, clear the screen, hide text, forge links), forge
//! log or table lines (`\n`, `\r`), or hide what it says (bidi overrides,
//! backspace). And nothing bounds its size. So every such string goes
//! through [`visible`] (or [`visible_capped`]) before it reaches a terminal
//! or a log, and through [`cap_bytes`] before it is stored as an error.
//! JSON output is the exception: it keeps exact values (escaped as JSON).
//!
//! How characters are shown (README "Output"):
//! - `\0`, `\t`, `\n`, `\r`, `\e` (ESC) for those controls;
//! - `\xNN` for the other C0 controls and DEL (e.g. backspace `\x08`);
//! - `\u{…}` for C1 controls, Unicode format characters (bidi overrides
//!   such as `\u{202e}`, zero-width characters, the BOM) and the line and
//!   paragraph separators.
//!
//! Everything else (accents, CJK, emoji) is shown as is.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar;

/// Widest table cell, in terminal columns; longer cells end in `…`.
pub(crate) const CELL_WIDTH: usize = 120;

/// Longest error text Ferry stores or prints, in bytes; longer text ends in
/// "… (N more bytes)".
pub(crate) const ERROR_BYTES: usize = 4096;

/// Longest single line Ferry prints for people (a description, a value).
pub(crate) const LINE_BYTES: usize = 8192;

/// Does `c` need an escape to be shown safely?
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control() || is_format(c)
}

/// Unicode format characters (category Cf) and the line/paragraph
/// separators (Zl, Zp): invisible, yet they reorder, join or break text.
fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Does the text hold anything [`visible`] would escape?
pub(crate) fn has_unsafe(s: &str) -> bool {
    s.chars().any(is_unsafe)
}

/// Append the visible form of `c` to `out`.
fn push_visible(out: &mut String, c: char) {
    match c {
        '\0' => out.push_str("\\0"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\u{1b}' => out.push_str("\\e"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// The text with every control and format character shown as an escape.
pub(crate) fn visible(s: &str) -> Cow<'_, str> {
    if !has_unsafe(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`visible`], at most `width` terminal columns wide (an escape counts
/// as the characters it is shown with); longer text ends in `…`. Reads no
/// more of `s` than it shows, so a 900,000-character value costs what a
/// short one does.
pub(crate) fn visible_capped(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let mut piece = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        piece.clear();
        push_visible(&mut piece, c);
        let w: usize = piece.chars().map(|p| p.width().unwrap_or(0)).sum();
        // Keep one column for the ellipsis unless this is the last piece.
        let room = if chars.peek().is_some() { width.saturating_sub(1) } else { width };
        if used + w > room {
            out.push('…');
            return out;
        }
        used += w;
        out.push_str(&piece);
    }
    out
}

/// Terminal columns `s` takes (after [`visible`]).
pub(crate) fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// At most `max` bytes of `s` (cut at a character boundary); longer text
/// ends in "… (N more bytes)".
pub(crate) fn cap_bytes(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let cut = floor_boundary(s, max);
    Cow::Owned(format!("{}… ({} more bytes)", &s[..cut], s.len() - cut))
}

/// At most `max` bytes of the end of `s`, for text whose end matters most
/// (a traceback); longer text starts with "(N earlier bytes) …".
pub(crate) fn cap_bytes_tail(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    Cow::Owned(format!("({start} earlier bytes) …{}", &s[start..]))
}

/// Cut `s` in place to at most `max_chars` characters, the last being `…`.
/// Returns whether it was cut.
pub(crate) fn truncate_chars(s: &mut String, max_chars: usize) -> bool {
    if s.len() <= max_chars || s.chars().count() <= max_chars {
        return false;
    }
    let keep = max_chars.saturating_sub(1);
    let cut = s.char_indices().nth(keep).map(|(i, _)| i).unwrap_or(s.len());
    s.truncate(cut);
    s.push('…');
    true
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_and_format_character_is_escaped() {
        for c in (0u32..0x11_0000).filter_map(char::from_u32).filter(|c| is_unsafe(*c)) {
            let shown = visible(&format!("a{c}b")).into_owned();
            assert!(shown.starts_with('a') && shown.ends_with('b'), "{c:?} → {shown}");
            assert!(!shown.chars().any(is_unsafe), "{c:?} still raw in {shown:?}");
            assert!(shown.len() > 2, "{c:?} vanished");
        }
    }

    #[test]
    fn escapes_read_as_intended() {
        let evil = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n\0\u{8}\t\u{202e}\u{9b}\u{200b} Corp";
        assert_eq!(visible(evil), "Evil\\e]0;pwned\\x07\\e[2J\\r\\n\\0\\x08\\t\\u{202e}\\u{9b}\\u{200b} Corp");
        assert!(matches!(visible("Café 東京 🚀"), Cow::Borrowed("Café 東京 🚀")));
        assert_eq!(visible("\u{7f}"), "\\x7f");
    }

    #[test]
    fn capped_cells_are_bounded_and_marked() {
        let long = "x".repeat(900_000);
        let cell = visible_capped(&long, 120);
        assert_eq!(width(&cell), 120);
        assert!(cell.ends_with('…'));
        assert_eq!(visible_capped("short", 120), "short");
        assert_eq!(visible_capped(&"y".repeat(120), 120), "y".repeat(120));
        let escapes = visible_capped(&"\u{1b}".repeat(100), 11);
        assert_eq!(escapes, "\\e\\e\\e\\e\\e…");
        // Wide characters count two columns.
        assert_eq!(width(&visible_capped(&"東".repeat(100), 10)), 9);
    }

    #[test]
    fn byte_caps_say_how_much_is_missing() {
        assert_eq!(cap_bytes("abc", 3), "abc");
        assert_eq!(cap_bytes("abcdef", 3), "abc… (3 more bytes)");
        assert_eq!(cap_bytes("éé", 3), "é… (2 more bytes)");
        assert_eq!(cap_bytes_tail("abcdef", 2), "(4 earlier bytes) …ef");
        let mut s = "abcdef".to_string();
        assert!(truncate_chars(&mut s, 4));
        assert_eq!(s, "abc…");
        let mut t = "ééé".to_string();
        assert!(!truncate_chars(&mut t, 3));
    }
}
