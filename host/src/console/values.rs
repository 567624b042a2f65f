//! Form and query values that must name one of Ferry's state enums (a link
//! state, a ticket stage, a policy, a preset...). They are parsed with the
//! enum's own strum spelling — the one the CLI, the database and the JSON
//! use — so a page cannot invent a state; anything else is a 400 that lists
//! the values that would have been accepted.

use std::str::FromStr;

use strum::IntoEnumIterator;

use super::error::Problem;

/// `given` as a value of `E`: its exact spelling, or the same letters in
/// another case (as the CLI accepts them). `what` names the field in the
/// message ("state", "stage").
pub(super) fn one_of<E>(what: &str, given: &str) -> Result<E, Problem>
where
    E: FromStr + IntoEnumIterator + Into<&'static str> + Copy,
{
    let given = given.trim();
    given.parse::<E>().ok().or_else(|| E::iter().find(|e| (*e).into().eq_ignore_ascii_case(given))).ok_or_else(|| {
        Problem::bad_request(format!("unknown {what} `{given}`"), Some(format!("use one of: {}", spellings::<E>())))
    })
}

/// An optional filter: empty or absent means none.
pub(super) fn optional<E>(what: &str, given: Option<&str>) -> Result<Option<E>, Problem>
where
    E: FromStr + IntoEnumIterator + Into<&'static str> + Copy,
{
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => one_of(what, s).map(Some),
        None => Ok(None),
    }
}

/// Every spelling of `E`, comma-separated, in declaration order.
pub(super) fn spellings<E>() -> String
where
    E: IntoEnumIterator + Into<&'static str>,
{
    E::iter().map(Into::into).collect::<Vec<&'static str>>().join(", ")
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::options::{NewCompanies, Stage};
    use crate::store::LinkState;

    #[test]
    fn spellings_and_case() {
        assert_eq!(one_of::<Stage>("stage", "Working").expect("exact"), Stage::Working);
        assert_eq!(one_of::<Stage>("stage", " working ").expect("any case"), Stage::Working);
        assert_eq!(one_of::<LinkState>("state", "MATCHED").expect("any case"), LinkState::Matched);
        assert_eq!(optional::<NewCompanies>("policy", Some("")).expect("empty"), None);
    }

    #[test]
    fn an_unknown_value_is_a_400_listing_the_values() {
        let p = one_of::<NewCompanies>("policy", "sometimes").expect_err("unknown");
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
        assert_eq!(p.message, "unknown policy `sometimes`");
        assert_eq!(p.hint.as_deref(), Some("use one of: auto, create, review"));
        let p = one_of::<LinkState>("state", "linked").expect_err("unknown");
        assert_eq!(p.hint.as_deref(), Some("use one of: suggested, matched, created, ignored, unmatched"));
    }
}
