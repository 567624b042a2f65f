//! The connector contract, one module per version, in the shape of Zed's
//! `extension_host` (`wasm_host/wit.rs` + `wit/since_v0_X_0.rs`).
//!
//! - Each version's module (`since_v0_1_0`, `since_v0_2_0`, …) holds the
//!   bindings generated from its frozen WIT.
//! - Only the newest ([`latest`]) converts into Ferry's [`crate::model`]
//!   types and implements the host imports.
//! - Every older version converts its results *forward* into the next newer
//!   version's types (`From` impls in its own module), so a 0.1 page becomes
//!   a 0.2 page becomes a model page. Adding a version means: a new module,
//!   `From` impls from the previous newest into it, one arm per method below.
//! - Interfaces that did not change between versions (`http`, `log`, `state`;
//!   0.4.0 only added a function to `http`, which older components never
//!   import, so the newest `http` serves them all) are not
//!   generated again: bindgen's `with:` reuses the newest generated types, and
//!   the newest host implementation is linked under the old interface names.
//!
//! [`ConnectorPre`] is a linked component by version; [`Connector`] an
//! instance, with one method per export that always answers in the newest
//! version's types. No version ever reaches an `unreachable!`: a call an
//! older contract cannot express gets an answer of the newest contract.

pub(crate) mod since_v0_1_0;
pub(crate) mod since_v0_2_0;
pub(crate) mod since_v0_3_0;
pub(crate) mod since_v0_4_0;

use wasmtime::Store;
use wasmtime::component::Linker;

use super::host::HostState;

/// The newest contract: its types are what every version converts into.
pub(crate) use since_v0_4_0 as latest;

/// Contract versions this host loads, newest first.
pub(crate) const VERSIONS: &[&str] =
    &[since_v0_4_0::VERSION, since_v0_3_0::VERSION, since_v0_2_0::VERSION, since_v0_1_0::VERSION];

/// Add every version's imports to the linker: their import names differ by
/// version, so they live side by side.
pub(crate) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    since_v0_1_0::link(linker)?;
    since_v0_2_0::link(linker)?;
    since_v0_3_0::link(linker)?;
    since_v0_4_0::link(linker)?;
    Ok(())
}

/// A linked component, by the contract version it implements; cheap to
/// instantiate once per call.
#[derive(Clone)]
pub(crate) enum ConnectorPre {
    V0_1(since_v0_1_0::ConnectorPre<HostState>),
    V0_2(since_v0_2_0::ConnectorPre<HostState>),
    V0_3(since_v0_3_0::ConnectorPre<HostState>),
    V0_4(since_v0_4_0::ConnectorPre<HostState>),
}

impl ConnectorPre {
    /// Type-check a pre-instantiated component against the bindings of
    /// `version` (one of [`VERSIONS`]).
    pub(crate) fn new(
        version: &str,
        pre: wasmtime::component::InstancePre<HostState>,
    ) -> wasmtime::Result<ConnectorPre> {
        Ok(match version {
            since_v0_1_0::VERSION => ConnectorPre::V0_1(since_v0_1_0::ConnectorPre::new(pre)?),
            since_v0_2_0::VERSION => ConnectorPre::V0_2(since_v0_2_0::ConnectorPre::new(pre)?),
            since_v0_3_0::VERSION => ConnectorPre::V0_3(since_v0_3_0::ConnectorPre::new(pre)?),
            _ => ConnectorPre::V0_4(since_v0_4_0::ConnectorPre::new(pre)?),
        })
    }

    pub(crate) async fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Connector> {
        Ok(match self {
            ConnectorPre::V0_1(pre) => Connector::V0_1(pre.instantiate_async(store).await?),
            ConnectorPre::V0_2(pre) => Connector::V0_2(pre.instantiate_async(store).await?),
            ConnectorPre::V0_3(pre) => Connector::V0_3(pre.instantiate_async(store).await?),
            ConnectorPre::V0_4(pre) => Connector::V0_4(pre.instantiate_async(store).await?),
        })
    }
}

/// An instantiated connector of some contract version.
pub(crate) enum Connector {
    V0_1(since_v0_1_0::Connector),
    V0_2(since_v0_2_0::Connector),
    V0_3(since_v0_3_0::Connector),
    V0_4(since_v0_4_0::Connector),
}

/// A guest's answer, or the trap that ended it.
type Answer<T> = wasmtime::Result<T>;
type Fallible<T> = Answer<Result<T, latest::ConnectorError>>;

impl Connector {
    pub(crate) async fn call_info(&self, store: &mut Store<HostState>) -> Answer<latest::ConnectorInfo> {
        Ok(match self {
            Connector::V0_1(c) => {
                let v0_2 = since_v0_2_0::ConnectorInfo::from(c.ferry_connector_source().call_info(store).await?);
                since_v0_3_0::ConnectorInfo::from(v0_2).into()
            }
            Connector::V0_2(c) => {
                since_v0_3_0::ConnectorInfo::from(c.ferry_connector_source().call_info(store).await?).into()
            }
            Connector::V0_3(c) => c.ferry_connector_source().call_info(store).await?.into(),
            Connector::V0_4(c) => c.ferry_connector_source().call_info(store).await?,
        })
    }

    pub(crate) async fn call_validate_config(
        &self,
        store: &mut Store<HostState>,
        config: &[(String, String)],
    ) -> Fallible<latest::ValidatedConfig> {
        // The generated calls take a `&Vec`.
        let config = config.to_vec();
        Ok(match self {
            Connector::V0_1(c) => {
                let v0_1 = c.ferry_connector_source().call_validate_config(store, &config).await?;
                let v0_2 = forward::<_, _, since_v0_2_0::ValidatedConfig, since_v0_2_0::ConnectorError>(v0_1);
                forward(forward::<_, _, since_v0_3_0::ValidatedConfig, since_v0_3_0::ConnectorError>(v0_2))
            }
            Connector::V0_2(c) => {
                let v0_2 = c.ferry_connector_source().call_validate_config(store, &config).await?;
                forward(forward::<_, _, since_v0_3_0::ValidatedConfig, since_v0_3_0::ConnectorError>(v0_2))
            }
            Connector::V0_3(c) => forward(c.ferry_connector_source().call_validate_config(store, &config).await?),
            Connector::V0_4(c) => c.ferry_connector_source().call_validate_config(store, &config).await?,
        })
    }

    pub(crate) async fn call_check(
        &self,
        store: &mut Store<HostState>,
        config: &[(String, String)],
    ) -> Fallible<latest::CheckReport> {
        let config = config.to_vec();
        Ok(match self {
            Connector::V0_1(c) => {
                let v0_1 = c.ferry_connector_source().call_check(store, &config).await?;
                let v0_2 = forward::<_, _, since_v0_2_0::CheckReport, since_v0_2_0::ConnectorError>(v0_1);
                forward(forward::<_, _, since_v0_3_0::CheckReport, since_v0_3_0::ConnectorError>(v0_2))
            }
            Connector::V0_2(c) => {
                let v0_2 = c.ferry_connector_source().call_check(store, &config).await?;
                forward(forward::<_, _, since_v0_3_0::CheckReport, since_v0_3_0::ConnectorError>(v0_2))
            }
            Connector::V0_3(c) => forward(c.ferry_connector_source().call_check(store, &config).await?),
            Connector::V0_4(c) => c.ferry_connector_source().call_check(store, &config).await?,
        })
    }

    /// Read one page. Before 0.3.0 there were no extra streams: asking an
    /// older connector for one gets `unsupported-stream` from the host.
    pub(crate) async fn call_read(
        &self,
        store: &mut Store<HostState>,
        config: &[(String, String)],
        stream: latest::StreamRef,
        cursor: Option<&str>,
        since: Option<&String>,
    ) -> Fallible<latest::Page> {
        let config = config.to_vec();
        match self {
            Connector::V0_4(c) => c.ferry_connector_source().call_read(store, &config, &stream, cursor, since).await,
            Connector::V0_3(c) => {
                let stream = since_v0_3_0::ferry::connector::types::StreamRef::from(stream);
                Ok(forward(c.ferry_connector_source().call_read(store, &config, &stream, cursor, since).await?))
            }
            Connector::V0_2(c) => {
                let latest::StreamRef::Kind(kind) = stream else { return Ok(Err(no_extra_streams(stream))) };
                let kind = since_v0_3_0::ferry::connector::types::StreamKind::from(kind).into();
                let v0_2 = c.ferry_connector_source().call_read(store, &config, kind, cursor, since).await?;
                Ok(forward(forward::<_, _, since_v0_3_0::Page, since_v0_3_0::ConnectorError>(v0_2)))
            }
            Connector::V0_1(c) => {
                let latest::StreamRef::Kind(kind) = stream else { return Ok(Err(no_extra_streams(stream))) };
                let kind = since_v0_3_0::ferry::connector::types::StreamKind::from(kind);
                let kind = since_v0_2_0::ferry::connector::types::StreamKind::from(kind).into();
                let v0_1 = c.ferry_connector_source().call_read(store, &config, kind, cursor, since).await?;
                let v0_2 = forward::<_, _, since_v0_2_0::Page, since_v0_2_0::ConnectorError>(v0_1);
                Ok(forward(forward::<_, _, since_v0_3_0::Page, since_v0_3_0::ConnectorError>(v0_2)))
            }
        }
    }
}

/// What an older connector would have answered for an extra stream.
fn no_extra_streams(stream: latest::StreamRef) -> latest::ConnectorError {
    latest::ConnectorError::UnsupportedStream(stream)
}

/// An older version's fallible answer, one version forward.
fn forward<T, E, U, F>(r: Result<T, E>) -> Result<U, F>
where
    T: Into<U>,
    E: Into<F>,
{
    r.map(Into::into).map_err(Into::into)
}

/// Field-by-field conversion of a value whose shape did not change between
/// two versions: identity for plain values, element-wise for lists and
/// options.
pub(crate) trait Forward<T> {
    fn forward(self) -> T;
}

macro_rules! forward_identity {
    ($($t:ty),*) => { $(impl Forward<$t> for $t { fn forward(self) -> $t { self } })* };
}
forward_identity!(String, bool, u16, u32, u64);

impl<A: Into<B>, B> Forward<Vec<B>> for Vec<A> {
    fn forward(self) -> Vec<B> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<A: Into<B>, B> Forward<Option<B>> for Option<A> {
    fn forward(self) -> Option<B> {
        self.map(Into::into)
    }
}

/// `From` for a record that kept its fields, between two versions' type
/// modules: `forward_record!(Field, this => next { label, value })`. Listing
/// the fields makes a field added in the newer version a compile error
/// here, so whoever adds a version decides what older connectors send for it.
macro_rules! forward_record {
    ($t:ident, $from:ident => $to:ident { $($field:ident),* $(,)? }) => {
        impl From<$from::$t> for $to::$t {
            fn from(v: $from::$t) -> Self {
                use $crate::runtime::wit::Forward as _;
                Self { $($field: v.$field.forward()),* }
            }
        }
        impl $crate::runtime::wit::Forward<$to::$t> for $from::$t {
            fn forward(self) -> $to::$t {
                self.into()
            }
        }
    };
}

/// `From` for an enum that kept its cases, in the direction given (also
/// backward, for arguments the host passes to an older connector).
macro_rules! forward_enum {
    ($t:ident, $from:ident => $to:ident { $($case:ident),* $(,)? }) => {
        impl From<$from::$t> for $to::$t {
            fn from(v: $from::$t) -> Self {
                match v { $($from::$t::$case => $to::$t::$case),* }
            }
        }
        impl $crate::runtime::wit::Forward<$to::$t> for $from::$t {
            fn forward(self) -> $to::$t {
                self.into()
            }
        }
    };
}

pub(crate) use {forward_enum, forward_record};
