//! Lenient reading of PSA JSON into typed structs.
//!
//! Ferry's rule for hostile data: one bad record is skipped and kept aside
//! with its reason while the rest of its page syncs. A struct read with
//! plain serde breaks that rule: one record with a field of the wrong JSON
//! type (`"zip": 12345`, `"customer_id": "abc"`, `"properties": []`) fails
//! the whole list, so the page is a `bad-response` and the stream fails.
//! PSAs do send such records (custom fields, imports, old API versions).
//!
//! So read each field on its own:
//!
//! - [`lenient`] on an `Option<T>` field: a value of the wrong type is
//!   absent, as if the PSA had left it out, and the rest of the record maps;
//! - [`list`] on a `Vec<T>` field: the entries of T's shape, in order;
//! - [`OrDefault`] (or [`or_default`]) for each entry of a page: an entry
//!   that is not even an object becomes `T::default()`, whose empty id the
//!   host skips as invalid ("the id is empty") and keeps aside;
//! - [`Scalar`] where the PSA sends an id, an amount or an answer as text,
//!   number or boolean, and [`id_text`] for the record's id.
//!
//! ```
//! use ferry_sdk::de::{self, OrDefault, Scalar};
//! use serde::Deserialize;
//!
//! #[derive(Debug, Default, Deserialize)]
//! #[serde(default)]
//! struct Customer {
//!     #[serde(deserialize_with = "de::lenient")]
//!     id: Option<Scalar>,
//!     #[serde(deserialize_with = "de::lenient")]
//!     zip: Option<String>,
//! }
//!
//! let page: Vec<OrDefault<Customer>> = serde_json::from_str(r#"[{"id": 7, "zip": 12345}, "junk"]"#).unwrap();
//! let page = de::entries(page);
//! assert_eq!((de::id_text(&page[0].id), page[0].zip.clone()), ("7".to_string(), None));
//! assert_eq!(de::id_text(&page[1].id), "", "skipped by the host as invalid");
//! ```
//!
//! Only records are read leniently. A page's envelope (the list itself, a
//! next-page link, a total) stays strict or falls back to the safe side: a
//! wrong type there is a broken page, and reading it as absent could end a
//! listing early.
//!
//! Everything is read through `serde_json::Value` first: a repeated key
//! keeps its last value (a struct read straight from the text would fail on
//! it), and an array is never read as a struct (serde reads a struct from a
//! sequence by position, which would turn `"status": [2, "Inactive"]` into
//! a reference).

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _, Unexpected};
use serde_json::{Number, Value};

use crate::text::json_scalar_text;

/// `T` from `value` when it has T's shape; never from an array (lists are
/// read by [`list`]; see the module doc).
fn read<T: DeserializeOwned>(value: Value) -> Option<T> {
    if value.is_array() {
        return None;
    }
    T::deserialize(value).ok()
}

/// A field read leniently: `None` when the PSA left it out, sent null, or
/// sent a value of another type. Use with `#[serde(default,
/// deserialize_with = "de::lenient")]` on an `Option<T>` field.
pub fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(read(Value::deserialize(d)?))
}

/// A list field read leniently: the entries that have T's shape, in order;
/// empty when the field is missing or not a list. Use with
/// `#[serde(default, deserialize_with = "de::list")]` on a `Vec<T>` field.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().filter_map(read).collect(),
        _ => Vec::new(),
    })
}

/// An entry of a JSON list (a page, a reference list): `T` read from an
/// object, or `T::default()` when the entry is anything else. Reading an
/// entry never fails, so neither does its page.
#[derive(Debug, Default)]
pub struct OrDefault<T>(pub T);

impl<'de, T: DeserializeOwned + Default> Deserialize<'de> for OrDefault<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(OrDefault(or_default(Value::deserialize(d)?)))
    }
}

/// One entry already held as a `Value` (an item taken out of a page's
/// envelope), read as [`OrDefault`] reads it.
pub fn or_default<T: DeserializeOwned + Default>(value: Value) -> T {
    read(value).unwrap_or_default()
}

/// The entries of a page, each read with [`OrDefault`].
pub fn entries<T>(page: Vec<OrDefault<T>>) -> Vec<T> {
    page.into_iter().map(|OrDefault(t)| t).collect()
}

/// A JSON scalar where a PSA sends an id, an amount or an answer. Its text
/// follows [`json_scalar_text`] (numbers as JSON writes them, booleans as
/// Yes/No), so ids and card values read as they would from a `Value`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(Number),
    Bool(bool),
}

impl Scalar {
    /// The text Ferry stores: `json_scalar_text` of the value.
    pub fn text(&self) -> String {
        let value = match self {
            Scalar::Text(s) => Value::String(s.clone()),
            Scalar::Number(n) => Value::Number(n.clone()),
            Scalar::Bool(b) => Value::Bool(*b),
        };
        json_scalar_text(&value).unwrap_or_default()
    }

    /// A non-negative integer id (`Value::as_u64`): not from text, floats
    /// or negative numbers.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Scalar::Number(n) => n.as_u64(),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let expected = &"a string, number or boolean";
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Scalar::Text(s)),
            Value::Number(n) => Ok(Scalar::Number(n)),
            Value::Bool(b) => Ok(Scalar::Bool(b)),
            Value::Null => Err(D::Error::invalid_type(Unexpected::Unit, expected)),
            Value::Array(_) => Err(D::Error::invalid_type(Unexpected::Seq, expected)),
            Value::Object(_) => Err(D::Error::invalid_type(Unexpected::Map, expected)),
        }
    }
}

/// The text of an optional id: empty when missing or not a scalar, so
/// Ferry skips that one record as invalid ("the id is empty").
pub fn id_text(id: &Option<Scalar>) -> String {
    id.as_ref().map(Scalar::text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Inner {
        #[serde(deserialize_with = "lenient")]
        name: Option<String>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Outer {
        #[serde(deserialize_with = "lenient")]
        id: Option<Scalar>,
        #[serde(deserialize_with = "lenient")]
        count: Option<u64>,
        #[serde(deserialize_with = "lenient")]
        flag: Option<bool>,
        #[serde(deserialize_with = "lenient")]
        inner: Option<Inner>,
        #[serde(deserialize_with = "list")]
        items: Vec<Inner>,
    }

    fn outer(v: Value) -> Outer {
        serde_json::from_value::<OrDefault<Outer>>(v).unwrap().0
    }

    #[test]
    fn wrong_types_are_absent_and_the_rest_reads() {
        let o = outer(json!({"id": {"x": 1}, "count": "3", "flag": "true", "inner": "text",
            "items": [{"name": "a"}, "b", [1], {"name": 2}, null], "unknown": [1, 2]}));
        let inner = |name: Option<&str>| Inner { name: name.map(str::to_string) };
        assert_eq!(o, Outer { items: vec![inner(Some("a")), inner(None)], ..Outer::default() });
        let o = outer(json!({"id": 7, "count": 3, "flag": true, "inner": {"name": "n", "extra": 1}, "items": "x"}));
        assert_eq!(o.id.as_ref().map(Scalar::text).as_deref(), Some("7"));
        assert_eq!((o.count, o.flag, o.inner), (Some(3), Some(true), Some(inner(Some("n")))));
        assert!(o.items.is_empty());
    }

    #[test]
    fn numbers_are_not_coerced() {
        for bad in [json!(-1), json!(2.0), json!(1e30), json!("2"), json!(18446744073709551616.0_f64)] {
            assert_eq!(outer(json!({"count": bad})).count, None, "{bad}");
        }
        assert_eq!(outer(json!({"count": u64::MAX})).count, Some(u64::MAX));
    }

    #[test]
    fn an_array_is_never_read_as_a_struct() {
        assert_eq!(outer(json!({"inner": ["positional"]})).inner, None);
        assert_eq!(outer(json!([7, 3, true])), Outer::default(), "a record sent as a list");
    }

    #[test]
    fn entries_that_are_not_objects_become_defaults() {
        let page: Vec<OrDefault<Outer>> = serde_json::from_str(r#"[{"count": 1}, 5, "x", null, [1], {}]"#).unwrap();
        let counts: Vec<Option<u64>> = entries(page).into_iter().map(|o| o.count).collect();
        assert_eq!(counts, [Some(1), None, None, None, None, None]);
        assert!(serde_json::from_str::<Vec<OrDefault<Outer>>>(r#"{"not": "a list"}"#).is_err());
        let values = [json!({"count": 2}), json!("x"), json!([{"count": 3}])];
        let counts: Vec<Option<u64>> = values.into_iter().map(|v| or_default::<Outer>(v).count).collect();
        assert_eq!(counts, [Some(2), None, None]);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let page: Vec<OrDefault<Outer>> = serde_json::from_str(r#"[{"count": 1, "count": 2}]"#).unwrap();
        assert_eq!(entries(page)[0].count, Some(2));
    }

    #[test]
    fn ids_follow_json_scalar_text() {
        let id = |v: Value| id_text(&outer(json!({ "id": v })).id);
        assert_eq!(id(json!(250)), "250");
        assert_eq!(id(json!(-42)), "-42");
        assert_eq!(id(json!(3_000_000_000_u64)), "3000000000");
        assert_eq!(id(json!(1e30)), "1e+30");
        assert_eq!(id(json!(" 77 ")), " 77 ");
        assert_eq!(id(json!(true)), "Yes");
        for empty in [json!(null), json!({"v": 1}), json!([1])] {
            assert_eq!(id(empty.clone()), "", "{empty}");
        }
        assert_eq!(id_text(&None), "");
        let n = |v: Value| outer(json!({ "id": v })).id.and_then(|s| s.as_u64());
        assert_eq!((n(json!(2)), n(json!(-2)), n(json!(2.0)), n(json!("2"))), (Some(2), None, None, None));
    }
}
