//! The [`Connector`] trait: what a connector author implements. The export
//! macro ([`crate::export_connector!`]) adapts it to the generated
//! `ferry:connector/source` bindings, so connector code never sees them and
//! a new contract version changes the adapter, not every connector.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::bindings::exports::ferry::connector::source::Guest;
use crate::bindings::ferry::connector::types::{
    CheckReport, ConnectorError, ConnectorInfo, Page, StreamKind, StreamRef, ValidatedConfig,
};
use crate::config::{Config, RawConfig};
use crate::paging::PageNumber;

/// One `read` call: which stream, where in it, and since when.
///
/// A struct rather than arguments so that a contract can add to it without
/// changing every connector's signature (0.3 turned the stream into a
/// [`StreamRef`]: one of the seven kinds, or an extra stream the connector
/// declared in `ConnectorInfo::extra_streams`, by name).
#[derive(Debug, Clone)]
pub struct Read {
    pub stream: StreamRef,
    /// `None` for the first page, then the previous page's `next`.
    pub cursor: Option<String>,
    /// Only records updated at or after this RFC 3339 time, when the stream
    /// is declared incremental.
    pub since: Option<String>,
}

impl Read {
    pub fn new(stream: impl Into<StreamRef>) -> Read {
        Read { stream: stream.into(), cursor: None, since: None }
    }

    /// The kind, when one of the seven kinds is asked for.
    pub fn kind(&self) -> Option<StreamKind> {
        match &self.stream {
            StreamRef::Kind(kind) => Some(*kind),
            StreamRef::Extra(_) => None,
        }
    }

    /// The name, when an extra stream is asked for.
    pub fn extra(&self) -> Option<&str> {
        match &self.stream {
            StreamRef::Kind(_) => None,
            StreamRef::Extra(name) => Some(name),
        }
    }

    /// The page a `page:N` cursor points at (page 1 without a cursor).
    pub fn page(&self) -> Result<PageNumber, ConnectorError> {
        PageNumber::from_cursor(self.cursor.as_deref())
    }

    /// The error for a stream this connector does not offer.
    pub fn unsupported(&self) -> ConnectorError {
        ConnectorError::UnsupportedStream(self.stream.clone())
    }
}

impl From<StreamKind> for StreamRef {
    fn from(kind: StreamKind) -> StreamRef {
        StreamRef::Kind(kind)
    }
}

/// A Ferry connector.
///
/// `Settings` is the typed configuration: a `#[derive(Deserialize)]` struct
/// whose field names are the config keys (see [`crate::settings`]). It is
/// built from the operator's config for every `validate-config`, `check` and
/// `read`; a missing or malformed value is an `invalid-config` naming the key
/// before any of your code runs.
pub trait Connector {
    type Settings: DeserializeOwned;

    /// Describe the connector. No network; cheap and constant.
    fn info() -> ConnectorInfo;

    /// Build the settings. Override to normalise or cross-check values
    /// beyond what deserialization does.
    fn settings(config: &Config) -> Result<Self::Settings, ConnectorError> {
        config.settings()
    }

    /// Check and normalise the operator's configuration without network.
    /// The default accepts whatever [`Connector::settings`] accepts, unchanged.
    fn validate_config(config: Config) -> Result<ValidatedConfig, ConnectorError> {
        Self::settings(&config)?;
        Ok(ValidatedConfig { config: config.into_pairs(), notices: Vec::new() })
    }

    /// Test the connection: credentials, permissions, a count.
    fn check(settings: &Self::Settings) -> Result<CheckReport, ConnectorError>;

    /// Read one page of one stream: one of the kinds `info` lists in
    /// `streams` (records of that kind), or one of its `extra_streams` by
    /// name (`Records::Items`). Match on [`Read::kind`] / [`Read::extra`];
    /// anything else is [`Read::unsupported`].
    fn read(settings: &Self::Settings, read: Read) -> Result<Page, ConnectorError>;
}

/// `info` of `T` as the host calls it.
pub fn info<T: Connector>() -> ConnectorInfo {
    T::info()
}

/// `validate-config` of `T` as the host calls it.
pub fn validate_config<T: Connector>(config: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
    T::validate_config(Config::new(config))
}

/// `check` of `T` as the host calls it: settings first, then `check`.
pub fn check<T: Connector>(config: RawConfig) -> Result<CheckReport, ConnectorError> {
    let settings = T::settings(&Config::new(config))?;
    T::check(&settings)
}

/// `read` of `T` as the host calls it: settings first, then `read`.
/// Native tests may pass a `StreamKind` or a `StreamRef`.
pub fn read<T: Connector>(
    config: RawConfig,
    stream: impl Into<StreamRef>,
    cursor: Option<String>,
    since: Option<String>,
) -> Result<Page, ConnectorError> {
    let settings = T::settings(&Config::new(config))?;
    T::read(&settings, Read { stream: stream.into(), cursor, since })
}

/// The generated `source` export for a [`Connector`]; used by
/// [`crate::export_connector!`].
#[doc(hidden)]
pub struct Export<T>(PhantomData<T>);

impl<T: Connector> Guest for Export<T> {
    fn info() -> ConnectorInfo {
        info::<T>()
    }

    fn validate_config(config: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
        validate_config::<T>(config)
    }

    fn check(config: RawConfig) -> Result<CheckReport, ConnectorError> {
        check::<T>(config)
    }

    fn read(
        config: RawConfig,
        stream: StreamRef,
        cursor: Option<String>,
        since: Option<String>,
    ) -> Result<Page, ConnectorError> {
        read::<T>(config, stream, cursor, since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_names_a_kind_or_an_extra_stream() {
        let kind = Read::new(StreamKind::Assets);
        assert_eq!((kind.kind(), kind.extra()), (Some(StreamKind::Assets), None));
        let extra = Read::new(StreamRef::Extra("contracts".into()));
        assert_eq!((extra.kind(), extra.extra()), (None, Some("contracts")));
        assert!(
            matches!(extra.unsupported(), ConnectorError::UnsupportedStream(StreamRef::Extra(n)) if n == "contracts")
        );
    }
}
