//! ConnectWise Manage's `conditions` query language, the subset the
//! simulator understands (docs/psa-apis.md §2.5): comparisons `= != < <= > >=`,
//! `like` (with `*`/`%` wildcards), `contains`, `in (...)`, joined by
//! `and`/`or`, parentheses; strings in double or single quotes, datetimes
//! in `[...]`, numbers, `true`/`false`/`null`; fields as paths (`company/id`).
//! `lastUpdated` and `dateEntered` read from `_info`.

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Time(DateTime<Utc>),
    Null,
    List(Vec<Literal>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    Contains,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp { field: Vec<String>, op: Op, value: Literal },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Time(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn lex(input: &str) -> Result<Vec<Tok>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                toks.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(ParseError("unterminated string".into()));
                }
                i += 1;
                toks.push(Tok::Str(s));
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or_else(|| ParseError("unterminated [datetime]".into()))?;
                toks.push(Tok::Time(chars[i + 1..i + end].iter().collect()));
                i += end + 1;
            }
            '=' | '!' | '<' | '>' => {
                let mut op = c.to_string();
                if i + 1 < chars.len() && chars[i + 1] == '=' {
                    op.push('=');
                    i += 1;
                }
                if op == "!" {
                    return Err(ParseError("`!` must be `!=`".into()));
                }
                toks.push(Tok::Op(op));
                i += 1;
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                toks.push(Tok::Num(text.parse().map_err(|_| ParseError(format!("bad number `{text}`")))?));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.')) {
                    i += 1;
                }
                toks.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(ParseError(format!("unexpected character `{other}`"))),
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.conjunction()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.conjunction()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.primary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.primary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.expr()?;
            if self.next() != Some(Tok::RParen) {
                return Err(ParseError("missing `)`".into()));
            }
            return Ok(e);
        }
        let field = match self.next() {
            Some(Tok::Ident(f)) => f,
            other => return Err(ParseError(format!("expected a field name, found {other:?}"))),
        };
        let op = match self.next() {
            Some(Tok::Op(o)) => match o.as_str() {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                _ => return Err(ParseError(format!("unknown operator `{o}`"))),
            },
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("like") => Op::Like,
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("contains") => Op::Contains,
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("not") => {
                if !self.keyword("in") {
                    return Err(ParseError("`not` must be followed by `in`".into()));
                }
                self.pos += 1;
                Op::NotIn
            }
            other => {
                return Err(ParseError(format!("expected an operator after `{field}`, found {other:?}")));
            }
        };
        let value = if matches!(op, Op::In | Op::NotIn) { self.list()? } else { self.literal()? };
        Ok(Expr::Cmp { field: field.split('/').map(str::to_string).collect(), op, value })
    }

    fn list(&mut self) -> Result<Literal, ParseError> {
        if self.next() != Some(Tok::LParen) {
            return Err(ParseError("`in` needs a list in parentheses".into()));
        }
        let mut items = Vec::new();
        loop {
            items.push(self.literal()?);
            match self.next() {
                Some(Tok::Comma) => continue,
                Some(Tok::RParen) => break,
                other => return Err(ParseError(format!("expected `,` or `)`, found {other:?}"))),
            }
        }
        Ok(Literal::List(items))
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Num(n)) => Ok(Literal::Num(n)),
            Some(Tok::Time(t)) => DateTime::parse_from_rfc3339(t.trim())
                .map(|d| Literal::Time(d.with_timezone(&Utc)))
                .map_err(|_| ParseError(format!("`[{t}]` is not a datetime like [2024-01-01T00:00:00Z]"))),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            other => Err(ParseError(format!("expected a value, found {other:?}"))),
        }
    }
}

/// Parse a `conditions` string.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let toks = lex(input)?;
    if toks.is_empty() {
        return Err(ParseError("empty conditions".into()));
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.expr()?;
    if p.pos < p.toks.len() {
        return Err(ParseError(format!("unexpected {:?}", p.toks[p.pos])));
    }
    Ok(e)
}

/// The value at a field path; `lastUpdated`/`dateEntered` live in `_info`.
fn lookup<'a>(record: &'a Value, path: &[String]) -> Option<&'a Value> {
    if path.len() == 1 && matches!(path[0].as_str(), "lastUpdated" | "dateEntered" | "updatedBy" | "enteredBy") {
        return record.get("_info")?.get(&path[0]);
    }
    let mut v = record;
    for key in path {
        v = v.get(key)?;
    }
    Some(v)
}

impl Expr {
    /// Field paths used, for "unknown field" checks.
    pub fn fields(&self) -> Vec<&[String]> {
        match self {
            Expr::Cmp { field, .. } => vec![field.as_slice()],
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut v = a.fields();
                v.extend(b.fields());
                v
            }
        }
    }

    /// A lower bound on `lastUpdated` that every matching record must pass
    /// (`lastUpdated > [t]` or `>= [t]`, alone or in an `and`), so a listing
    /// can skip older records without parsing them, as a real server's
    /// index would. `(t, strict)`.
    pub fn updated_floor(&self) -> Option<(DateTime<Utc>, bool)> {
        match self {
            Expr::Cmp { field, op, value: Literal::Time(t) }
                if field.len() == 1 && field[0].eq_ignore_ascii_case("lastUpdated") =>
            {
                match op {
                    Op::Gt => Some((*t, true)),
                    Op::Ge => Some((*t, false)),
                    _ => None,
                }
            }
            Expr::And(a, b) => match (a.updated_floor(), b.updated_floor()) {
                (Some(x), Some(y)) => Some(if (x.0, x.1) >= (y.0, y.1) { x } else { y }),
                (x, y) => x.or(y),
            },
            _ => None,
        }
    }

    pub fn eval(&self, record: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.eval(record) && b.eval(record),
            Expr::Or(a, b) => a.eval(record) || b.eval(record),
            Expr::Cmp { field, op, value } => compare(lookup(record, field), *op, value),
        }
    }
}

fn compare(actual: Option<&Value>, op: Op, expected: &Literal) -> bool {
    use std::cmp::Ordering;
    let actual = actual.unwrap_or(&Value::Null);
    let ordering: Option<Ordering> = match expected {
        Literal::Null => Some(if actual.is_null() { Ordering::Equal } else { Ordering::Greater }),
        Literal::Bool(b) => actual.as_bool().or(if actual.is_null() { Some(false) } else { None }).map(|a| a.cmp(b)),
        Literal::Num(n) => actual.as_f64().and_then(|a| a.partial_cmp(n)),
        Literal::Time(t) => {
            actual.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|a| a.with_timezone(&Utc).cmp(t))
        }
        Literal::Str(s) => match actual {
            Value::String(a) => Some(a.to_lowercase().cmp(&s.to_lowercase())),
            Value::Number(n) => s.parse::<f64>().ok().and_then(|e| n.as_f64()?.partial_cmp(&e)),
            _ => None,
        },
        Literal::List(_) => None,
    };
    match op {
        Op::Eq => ordering == Some(Ordering::Equal),
        Op::Ne => ordering != Some(Ordering::Equal),
        Op::Lt => ordering == Some(Ordering::Less),
        Op::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => ordering == Some(Ordering::Greater),
        Op::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        Op::Like => match (actual.as_str(), expected) {
            (Some(a), Literal::Str(pattern)) => like(&a.to_lowercase(), &pattern.to_lowercase()),
            _ => false,
        },
        Op::Contains => match (actual.as_str(), expected) {
            (Some(a), Literal::Str(s)) => a.to_lowercase().contains(&s.to_lowercase()),
            _ => false,
        },
        Op::In | Op::NotIn => {
            let Literal::List(items) = expected else { return false };
            let found = items.iter().any(|item| compare(Some(actual), Op::Eq, item));
            found == (op == Op::In)
        }
    }
}

/// `*` and `%` match any run of characters.
fn like(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split(['*', '%']).collect();
    if parts.len() == 1 {
        return text == pattern;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn updated_floor_is_the_strictest_lower_bound() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let e = parse("lastUpdated > [2025-10-02T03:14:40Z] and deletedFlag = false").unwrap();
        assert_eq!(e.updated_floor(), Some((t("2025-10-02T03:14:40Z"), true)));
        let e = parse("lastUpdated >= [2025-01-01T00:00:00Z] and lastUpdated > [2025-06-01T00:00:00Z]").unwrap();
        assert_eq!(e.updated_floor(), Some((t("2025-06-01T00:00:00Z"), true)));
        // An `or` promises nothing about each side.
        let e = parse("lastUpdated > [2025-10-02T03:14:40Z] or id = 5").unwrap();
        assert_eq!(e.updated_floor(), None);
        assert_eq!(parse("lastUpdated < [2025-10-02T03:14:40Z]").unwrap().updated_floor(), None);
    }

    fn rec() -> Value {
        json!({"id": 250, "name": "Ortiz Dental Group", "deletedFlag": false,
               "company": {"id": 7, "name": "X"}, "agreementStatus": "Active",
               "_info": {"lastUpdated": "2025-09-30T14:09:53Z"}})
    }

    #[test]
    fn comparisons() {
        let r = rec();
        for (cond, want) in [
            ("lastUpdated > [2025-01-01T00:00:00Z]", true),
            ("lastUpdated >= [2025-09-30T14:09:53Z]", true),
            ("lastUpdated > [2025-09-30T14:09:53Z]", false),
            ("deletedFlag = false", true),
            ("deletedFlag = False", true),
            ("company/id = 7", true),
            ("company/id=8", false),
            ("id > 100 and id < 300", true),
            ("agreementStatus = \"Active\"", true),
            ("agreementStatus='Cancelled' or id = 250", true),
            ("name like \"Ortiz*\"", true),
            ("name like '%Dental%'", true),
            ("name contains \"dental\"", true),
            ("id in (1, 250, 3)", true),
            ("id not in (1, 2)", true),
            ("(id = 1 or id = 250) and deletedFlag = false", true),
            ("missing = null", true),
        ] {
            assert_eq!(parse(cond).unwrap_or_else(|e| panic!("{cond}: {e}")).eval(&r), want, "{cond}");
        }
    }

    #[test]
    fn syntax_errors() {
        for bad in ["", "id >", "id ! 3", "name = \"open", "lastUpdated > [yesterday]", "(id = 1", "id = 1 2", "id ~ 3"]
        {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
