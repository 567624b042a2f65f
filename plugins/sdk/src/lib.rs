//! Guest-side SDK for Ferry connectors.
//!
//! A connector is a WebAssembly component implementing the
//! `ferry:connector` contract (see `wit/connector.wit`). This crate holds what
//! every connector needs so that a connector crate holds only PSA-specific
//! code: the [`Connector`] trait with typed settings, configuration access,
//! an HTTP client over the host's `http` import (JSON, form and query
//! encoding; several requests at once with [`http::send_batch`], contract
//! 0.4), the integration's [`state`] store (contract 0.3: kept across
//! calls and runs), OAuth client credentials with the token kept there,
//! paging helpers, the mapping of HTTP statuses onto `connector-error`,
//! lenient readers of PSA JSON ([`de`]: one odd field never fails a page), and
//! — natively — a [`testing::FakeHttp`] and host fakes so connector logic
//! unit-tests with `cargo test`.
//!
//! ```ignore
//! use ferry_sdk::prelude::*;
//!
//! struct MyPsa;
//!
//! #[derive(Deserialize)]
//! struct Settings { base_url: BaseUrl, api_key: String }
//!
//! impl Connector for MyPsa {
//!     type Settings = Settings;
//!     fn info() -> ConnectorInfo { /* ... */ }
//!     fn check(s: &Settings) -> Result<CheckReport, ConnectorError> { /* ... */ }
//!     fn read(s: &Settings, read: Read) -> Result<Page, ConnectorError> { /* ... */ }
//! }
//!
//! ferry_sdk::export_connector!(MyPsa);
//! ```

pub mod auth;
pub mod config;
pub mod connector;
pub mod de;
pub mod error;
mod host;
pub mod http;
mod http_date;
pub mod log;
pub mod paging;
pub mod settings;
pub mod state;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod text;

pub use connector::{Connector, Read};

/// Bindings generated from `wit/`: the raw contract. Connectors use
/// [`Connector`] and [`prelude`]; these stay reachable for the rare
/// connector that must implement the contract by hand (Ferry's own
/// misbehaving test connectors do).
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "connector",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "ferry_sdk::bindings",
    });
}

/// Everything a connector implementation usually needs in scope.
pub mod prelude {
    pub use crate::auth::ClientCredentials;
    #[doc(hidden)]
    pub use crate::bindings::exports::ferry::connector::source::Guest as Source;
    pub use crate::bindings::ferry::connector::types::Asset;
    pub use crate::bindings::ferry::connector::types::{
        Address, Agreement, CheckReport, Company, ConfigField, ConfigProblem, ConnectorError, ConnectorInfo, Contact,
        ExtraStreamInfo, Field, Item, Lookup, LookupKind, Page, PermissionDenied, RateLimit, Records, Site, StreamInfo,
        StreamKind, StreamRef, Ticket, ValidatedConfig,
    };
    pub use crate::config::{BaseUrl, Config, RawConfig};
    pub use crate::connector::{Connector, Read};
    pub use crate::error::{bad_response, from_status, invalid_config};
    pub use crate::http::{Client, Method, Request, Response, basic_auth, form_encode, send_batch, with_query};
    pub use crate::paging::{Ahead, LinkHeader, NumberedPage, PageNumber, ReadAhead};
    pub use crate::text::{CardBuilder, json_scalar_text, non_empty};
    pub use serde::Deserialize;
    pub use serde_json::{Value, json};
}

/// Export a type implementing [`Connector`] as the component's
/// `ferry:connector/source` implementation.
///
/// The export only exists when compiling for WebAssembly, so a connector crate
/// still builds natively for its unit tests.
#[macro_export]
macro_rules! export_connector {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        type __FerryConnectorExport = $crate::connector::Export<$ty>;
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export_bindings!(__FerryConnectorExport with_types_in $crate::bindings);
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn assert_connector<T: $crate::Connector>() {}
            assert_connector::<$ty>();
        };
    };
}

/// Export a type implementing the raw generated `source` trait. Only for
/// connectors that must bypass [`Connector`] (Ferry's misbehaving test
/// connectors); use [`export_connector!`].
#[doc(hidden)]
#[macro_export]
macro_rules! export_source {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export_bindings!($ty with_types_in $crate::bindings);
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn assert_source<T: $crate::prelude::Source>() {}
            assert_source::<$ty>();
        };
    };
}

/// The name of a stream as Ferry's CLI spells it (for messages).
pub fn stream_name(kind: bindings::ferry::connector::types::StreamKind) -> &'static str {
    use bindings::ferry::connector::types::StreamKind;
    match kind {
        StreamKind::Companies => "companies",
        StreamKind::Contacts => "contacts",
        StreamKind::Assets => "assets",
        StreamKind::Sites => "sites",
        StreamKind::Agreements => "agreements",
        StreamKind::Tickets => "tickets",
        StreamKind::Lookups => "lookups",
    }
}
