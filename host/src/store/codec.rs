//! How typed values are spelled in the database: every state enum is
//! stored as its strum spelling (`complete`, `matched`, `Working`), JSON
//! columns through [`Json`]. Reading is strict: text that names no value of
//! the type (a database written by something else, or damaged) is
//! [`StoreError::Corrupt`](super::StoreError::Corrupt), never a default, so
//! a wrong state cannot quietly drive sync or apply.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{CardTarget, ConnectorOrigin, LinkState, RunStatus, StreamStatus, Trigger};
use crate::model::Mode;
use crate::model::{StreamId, StreamKind};
use crate::options::Stage;
use crate::rules::IdentityField;

/// A stored value that does not decode: which kind of value, and the text
/// found (cut short). `StoreError` turns it into `Corrupt`.
#[derive(Debug, thiserror::Error)]
#[error("{what} `{found}` is not one Ferry writes")]
pub struct CorruptValue {
    pub what: &'static str,
    pub found: String,
}

impl CorruptValue {
    fn new(what: &'static str, found: &str) -> Self {
        const SHOWN: usize = 60;
        let mut shown: String = found.chars().take(SHOWN).collect();
        if found.chars().count() > SHOWN {
            shown.push('…');
        }
        CorruptValue { what, found: shown }
    }

    fn into_sql(self) -> FromSqlError {
        FromSqlError::Other(Box::new(self))
    }
}

/// `ToSql`/`FromSql` for state enums: the strum spelling out, strict
/// `FromStr` in.
macro_rules! spelled {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(<&'static str>::from(*self)))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                text.parse().map_err(|_| CorruptValue::new($what, text).into_sql())
            }
        }
    )*};
}

spelled! {
    StreamKind => "stream",
    Mode => "sync mode",
    RunStatus => "run status",
    StreamStatus => "stream status",
    CardTarget => "card target",
    LinkState => "company link state",
    Stage => "ticket stage",
    IdentityField => "layout identity field",
    ConnectorOrigin => "connector origin",
    Trigger => "run trigger",
}

/// A stream of an integration, as its spelling (`companies`,
/// `extra:contracts`); text that names no stream is corrupt, as for the
/// enums.
impl ToSql for StreamId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            StreamId::Kind(kind) => ToSqlOutput::from(kind.as_str()),
            StreamId::Extra(_) => ToSqlOutput::from(self.to_string()),
        })
    }
}

impl FromSql for StreamId {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        text.parse().map_err(|_| CorruptValue::new("stream", text).into_sql())
    }
}

/// A JSON column: serialised on the way in, parsed strictly on the way out
/// (unparseable JSON is corrupt, not an empty value).
#[derive(Debug, Clone, PartialEq)]
pub struct Json<T>(pub T);

impl<T: Serialize> ToSql for Json<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        serde_json::to_string(&self.0)
            .map(ToSqlOutput::from)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }
}

impl<T: DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        serde_json::from_str(text).map(Json).map_err(|e| CorruptValue::new("JSON", &format!("{e}: {text}")).into_sql())
    }
}

/// The `CorruptValue` inside a rusqlite error, if that is what it is.
pub(super) fn corrupt_value(e: &rusqlite::Error) -> Option<&CorruptValue> {
    match e {
        rusqlite::Error::FromSqlConversionFailure(_, _, inner) => inner.downcast_ref::<CorruptValue>(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use strum::IntoEnumIterator;

    use super::*;
    use crate::store::StoreError;

    fn read_back<T: FromSql>(conn: &Connection, text: &str) -> rusqlite::Result<T> {
        conn.query_row("SELECT ?1", [text], |r| r.get::<_, T>(0))
    }

    fn stored<T: ToSql>(conn: &Connection, value: &T) -> String {
        conn.query_row("SELECT ?1", [value], |r| r.get::<_, String>(0)).expect("store")
    }

    /// Each value's stored text, exactly as databases written before the
    /// enums hold it, and back.
    fn round_trips<T>(conn: &Connection, expected: &[(T, &str)])
    where
        T: ToSql + FromSql + PartialEq + std::fmt::Debug + IntoEnumIterator,
    {
        assert_eq!(T::iter().count(), expected.len(), "every value listed");
        for (value, text) in expected {
            assert_eq!(stored(conn, value), *text);
            assert_eq!(&read_back::<T>(conn, text).expect("decode"), value);
        }
    }

    #[test]
    fn every_state_round_trips_its_stored_spelling() {
        let conn = Connection::open_in_memory().expect("db");
        round_trips(
            &conn,
            &[
                (StreamKind::Lookups, "lookups"),
                (StreamKind::Companies, "companies"),
                (StreamKind::Sites, "sites"),
                (StreamKind::Contacts, "contacts"),
                (StreamKind::Assets, "assets"),
                (StreamKind::Agreements, "agreements"),
                (StreamKind::Tickets, "tickets"),
            ],
        );
        for kind in StreamKind::iter() {
            let id = StreamId::Kind(kind);
            assert_eq!(stored(&conn, &id), kind.as_str());
            assert_eq!(read_back::<StreamId>(&conn, kind.as_str()).expect("decode"), id);
        }
        let contracts = StreamId::Extra("contracts".into());
        assert_eq!(stored(&conn, &contracts), "extra:contracts");
        assert_eq!(read_back::<StreamId>(&conn, "extra:contracts").expect("decode"), contracts);
        round_trips(&conn, &[(Mode::Full, "full"), (Mode::Incremental, "incremental")]);
        round_trips(
            &conn,
            &[
                (RunStatus::Running, "running"),
                (RunStatus::Succeeded, "succeeded"),
                (RunStatus::Partial, "partial"),
                (RunStatus::Failed, "failed"),
                (RunStatus::Interrupted, "interrupted"),
            ],
        );
        round_trips(
            &conn,
            &[
                (StreamStatus::Running, "running"),
                (StreamStatus::Complete, "complete"),
                (StreamStatus::Failed, "failed"),
                (StreamStatus::Interrupted, "interrupted"),
                (StreamStatus::Skipped, "skipped"),
            ],
        );
        round_trips(&conn, &[(CardTarget::Company, "company"), (CardTarget::Asset, "asset")]);
        round_trips(
            &conn,
            &[
                (LinkState::Suggested, "suggested"),
                (LinkState::Matched, "matched"),
                (LinkState::Created, "created"),
                (LinkState::Ignored, "ignored"),
                (LinkState::Unmatched, "unmatched"),
            ],
        );
        round_trips(
            &conn,
            &[
                (Stage::New, "New"),
                (Stage::Triaged, "Triaged"),
                (Stage::Working, "Working"),
                (Stage::Waiting, "Waiting"),
                (Stage::Resolved, "Resolved"),
            ],
        );
        round_trips(
            &conn,
            &[(IdentityField::Serial, "serial"), (IdentityField::Mac, "mac"), (IdentityField::Name, "name")],
        );
        round_trips(&conn, &[(ConnectorOrigin::Bundled, "bundled"), (ConnectorOrigin::Installed, "installed")]);
        round_trips(
            &conn,
            &[
                (Trigger::Manual, "manual"),
                (Trigger::Schedule, "schedule"),
                (Trigger::DaemonStart, "daemon-start"),
                (Trigger::Demo, "demo"),
            ],
        );
    }

    fn corrupt<T: FromSql + std::fmt::Debug>(conn: &Connection, text: &str) -> String {
        let err = read_back::<T>(conn, text).expect_err("unknown text must not decode");
        match StoreError::from(err) {
            StoreError::Corrupt(message) => message,
            other => panic!("expected Corrupt for `{text}`, got {other:?}"),
        }
    }

    #[test]
    fn unknown_stored_text_is_corrupt_never_a_default() {
        let conn = Connection::open_in_memory().expect("db");
        // What the old parsers turned into a default (Asset, Unmatched,
        // Failed) or an empty list.
        assert!(corrupt::<CardTarget>(&conn, "organisation").contains("card target `organisation`"));
        assert!(corrupt::<LinkState>(&conn, "maybe").contains("company link state `maybe`"));
        assert!(corrupt::<RunStatus>(&conn, "exploded").contains("run status"));
        assert!(corrupt::<StreamStatus>(&conn, "done").contains("stream status"));
        assert!(corrupt::<StreamKind>(&conn, "Companies").contains("stream"));
        // An extra stream is spelled `extra:<name>`, the name well formed and
        // never a kind's; a bare name is not a stored spelling.
        for bad in ["contracts", "extra:", "extra:Contracts", "extra:companies", "extra:a b", "Companies"] {
            assert!(corrupt::<StreamId>(&conn, bad).contains("stream `"), "{bad}");
        }
        assert!(corrupt::<Json<Vec<StreamId>>>(&conn, r#"["extra:"]"#).contains("JSON"));
        assert!(corrupt::<Mode>(&conn, "partial").contains("sync mode"));
        assert!(corrupt::<Stage>(&conn, "Closed").contains("ticket stage"));
        assert!(corrupt::<IdentityField>(&conn, "imei").contains("identity"));
        assert!(corrupt::<ConnectorOrigin>(&conn, "downloaded").contains("origin"));
        assert!(corrupt::<Trigger>(&conn, "cron").contains("run trigger"));
        assert!(corrupt::<Json<Vec<crate::model::Field>>>(&conn, "[{").contains("JSON"));
        assert!(corrupt::<Json<Vec<StreamKind>>>(&conn, r#"["gadgets"]"#).contains("JSON"));
        // Long text is cut in the message.
        let long = "x".repeat(500);
        assert!(corrupt::<LinkState>(&conn, &long).len() < 200);
    }

    /// Through the store's own queries: rows the old parsers read as a
    /// default (a run `failed`, a card without fields) are refused.
    #[test]
    fn rows_with_unknown_states_read_as_corrupt() {
        let (_dir, store) = crate::store::tests::temp_store();
        store
            .conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO integrations (id, name, connector_id, config_json, secrets_json, created_at, updated_at)
                      VALUES (1, 'acme', 'syncro', '{}', '{}', '', '');
                 INSERT INTO runs (id, integration_id, mode, streams_json, trigger, status, started_at)
                      VALUES (1, 1, 'full', '[\"companies\"]', 'manual', 'exploded', '');
                 INSERT INTO runs (id, integration_id, mode, streams_json, trigger, status, started_at)
                      VALUES (2, 1, 'full', '[\"companies\"]', 'manual', 'succeeded', '');
                 INSERT INTO run_streams (run_id, stream, status) VALUES (2, 'companies', 'done');
                 INSERT INTO cards (integration_id, stream, external_id, doc_kind, doc_id, title, fields_json, hash,
                                    updated_at)
                      VALUES (1, 'assets', 'a1', 'asset', 7, 'Laptop', '[{', 'h', '');",
            )
            .expect("seed");
        let read = store.read();
        let corrupt = |r: Result<String, StoreError>| match r {
            Err(StoreError::Corrupt(m)) => m,
            other => panic!("expected Corrupt, got {other:?}"),
        };
        assert!(corrupt(read.run(1).map(|r| format!("{r:?}"))).contains("run status `exploded`"));
        assert!(corrupt(read.runs(None, 10).map(|r| format!("{r:?}"))).contains("exploded"));
        assert!(corrupt(read.run(2).map(|r| format!("{r:?}"))).contains("stream status `done`"));
        assert!(corrupt(read.cards_of(CardTarget::Asset, 7).map(|r| format!("{r:?}"))).contains("JSON"));
    }
}
