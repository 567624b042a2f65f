//! Typed settings from the configuration list: `#[derive(Deserialize)]` on a
//! struct whose field names are the config keys, then
//! [`crate::config::Config::settings`]. Errors become `invalid-config`
//! naming the key, so every connector reports a missing or malformed value
//! the same way.
//!
//! Values are text; they deserialize into `String`, numbers (`u32`, `i64`,
//! `f64`, …), `bool` (`true/false`, `yes/no`, `1/0`), `Option<_>` (absent or
//! blank = `None`), unit-variant enums (by name), `Vec<String>` (comma
//! separated) and newtypes such as [`crate::config::BaseUrl`]. A blank value
//! counts as not set; keys the struct does not name are ignored.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use crate::bindings::ferry::connector::types::ConnectorError;
use crate::error::invalid_config;

/// Deserialize `T` from `(key, value)` pairs (last value of a key wins,
/// values trimmed, blanks dropped).
pub fn from_pairs<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<T, ConnectorError> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        entries.retain(|(key, _)| key != k);
        let v = v.trim();
        if !v.is_empty() {
            entries.push((k.clone(), v.to_string()));
        }
    }
    T::deserialize(ConfigDe { entries: entries.into_iter(), pending: None }).map_err(|e| {
        let field = e.field.unwrap_or_else(|| "config".to_string());
        invalid_config(&field, e.reason)
    })
}

/// A deserialization problem, with the key it concerns once known.
#[derive(Debug)]
pub struct SettingsError {
    field: Option<String>,
    reason: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for SettingsError {}

impl de::Error for SettingsError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        SettingsError { field: None, reason: msg.to_string() }
    }

    fn missing_field(field: &'static str) -> Self {
        SettingsError { field: Some(field.to_string()), reason: "is required but was not set".to_string() }
    }
}

struct ConfigDe {
    entries: std::vec::IntoIter<(String, String)>,
    pending: Option<(String, String)>,
}

impl<'de> de::Deserializer<'de> for ConfigDe {
    type Error = SettingsError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for ConfigDe {
    type Error = SettingsError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((k, v)) => {
                let key = seed.deserialize(k.clone().into_deserializer())?;
                self.pending = Some((k, v));
                Ok(Some(key))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        let (key, value) = self.pending.take().ok_or_else(|| de::Error::custom("value without a key"))?;
        seed.deserialize(ValueDe(&value)).map_err(|mut e| {
            e.field.get_or_insert(key);
            e
        })
    }
}

/// One config value: text that parses into what the field wants.
struct ValueDe<'a>(&'a str);

impl ValueDe<'_> {
    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, SettingsError> {
        self.0.parse().map_err(|_| de::Error::custom(format!("`{}` is not {what}", self.0)))
    }
}

macro_rules! parse_number {
    ($($method:ident $visit:ident $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.$visit(self.parse::<$ty>(concat!("a number (", stringify!($ty), ")"))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDe<'_> {
    type Error = SettingsError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_str(self.0)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => visitor.visit_bool(true),
            "false" | "no" | "0" | "off" => visitor.visit_bool(false),
            _ => Err(de::Error::custom(format!("`{}` is not yes or no (true/false)", self.0))),
        }
    }

    parse_number! {
        deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64, deserialize_f32 visit_f32 f32,
        deserialize_f64 visit_f64 f64
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let items: Vec<String> =
            self.0.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        visitor.visit_seq(de::value::SeqDeserializer::new(items.into_iter()))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_enum(self.0.to_string().into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::config::BaseUrl;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Region {
        Eu,
        Us,
    }

    #[derive(Debug, Deserialize)]
    struct Settings {
        api_key: String,
        page_size: Option<u32>,
        #[serde(default)]
        verbose: bool,
        region: Option<Region>,
        base_url: Option<BaseUrl>,
        #[serde(default)]
        tags: Vec<String>,
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn field_of(e: ConnectorError) -> (String, String) {
        match e {
            ConnectorError::InvalidConfig(p) => (p.field, p.reason),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn typed_values_parse() {
        let s: Settings = from_pairs(&pairs(&[
            ("api_key", " k "),
            ("page_size", "50"),
            ("verbose", "yes"),
            ("region", "eu"),
            ("base_url", "http://127.0.0.1:9/api/"),
            ("tags", "a, b,"),
            ("unknown", "ignored"),
        ]))
        .unwrap();
        assert_eq!(s.api_key, "k");
        assert_eq!(s.page_size, Some(50));
        assert!(s.verbose);
        assert_eq!(s.region, Some(Region::Eu));
        assert_eq!(s.base_url.as_ref().map(BaseUrl::as_str), Some("http://127.0.0.1:9/api"));
        assert_eq!(s.tags, ["a", "b"]);
    }

    #[test]
    fn blanks_are_unset_and_the_last_value_wins() {
        let s: Settings = from_pairs(&pairs(&[("api_key", "old"), ("api_key", "new"), ("page_size", "  ")])).unwrap();
        assert_eq!(s.api_key, "new");
        assert_eq!(s.page_size, None);
    }

    #[test]
    fn errors_name_the_field() {
        let (field, reason) = field_of(from_pairs::<Settings>(&pairs(&[("page_size", "5")])).unwrap_err());
        assert_eq!((field.as_str(), reason.as_str()), ("api_key", "is required but was not set"));
        let (field, reason) =
            field_of(from_pairs::<Settings>(&pairs(&[("api_key", "k"), ("page_size", "many")])).unwrap_err());
        assert_eq!(field, "page_size");
        assert!(reason.contains("`many` is not a number"), "{reason}");
        let (field, _) = field_of(from_pairs::<Settings>(&pairs(&[("api_key", "k"), ("region", "mars")])).unwrap_err());
        assert_eq!(field, "region");
        let (field, reason) =
            field_of(from_pairs::<Settings>(&pairs(&[("api_key", "k"), ("base_url", "ftp://x")])).unwrap_err());
        assert_eq!(field, "base_url");
        assert!(reason.contains("http(s) URL"), "{reason}");
    }
}
