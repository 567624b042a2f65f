//! Guest-side SDK for Ferry connectors.
//!
//! A connector is a WebAssembly component implementing the
//! `ferry:connector` contract (see `wit/connector.wit`). This crate holds what
//! every connector needs so that a connector crate holds only PSA-specific
//! code: the generated bindings, configuration access, an HTTP client over the
//! host's `http` import with JSON decoding, paging helpers, the `state`
//! store (tokens kept between calls) and the mapping of HTTP statuses onto
//! `connector-error`.
//!
//! ```ignore
//! use ferry_sdk::prelude::*;
//!
//! struct MyPsa;
//!
//! impl Source for MyPsa {
//!     fn info() -> ConnectorInfo { /* ... */ }
//!     fn validate_config(config: RawConfig) -> Result<ValidatedConfig, ConnectorError> { /* ... */ }
//!     fn check(config: RawConfig) -> Result<CheckReport, ConnectorError> { /* ... */ }
//!     fn read(config: RawConfig, stream: StreamRef, cursor: Option<String>, since: Option<String>)
//!         -> Result<Page, ConnectorError> { /* ... */ }
//! }
//!
//! ferry_sdk::export_connector!(MyPsa);
//! ```

pub mod config;
pub mod error;
pub mod http;
pub mod log;
pub mod paging;
pub mod state;
pub mod text;

/// Bindings generated from `wit/`. Connectors normally use [`prelude`].
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
    pub use crate::bindings::exports::ferry::connector::source::Guest as Source;
    pub use crate::bindings::ferry::connector::types::Asset;
    pub use crate::bindings::ferry::connector::types::{
        Address, Agreement, CheckReport, Company, ConfigField, ConfigProblem, ConnectorError, ConnectorInfo, Contact,
        ExtraStreamInfo, Field, Item, Lookup, LookupKind, Page, PermissionDenied, RateLimit, Records, Site, StreamInfo,
        StreamKind, StreamRef, Ticket, ValidatedConfig,
    };
    pub use crate::config::{Config, RawConfig};
    pub use crate::error::{bad_response, invalid_config};
    pub use crate::http::{Client, Response, basic_auth};
    pub use crate::paging::{LinkHeader, PageNumber};
    pub use crate::text::{CardBuilder, non_empty};
}

/// Export a type implementing [`prelude::Source`] as the component's
/// `ferry:connector/source` implementation.
///
/// The export only exists when compiling for WebAssembly, so a connector crate
/// still builds natively for its unit tests.
#[macro_export]
macro_rules! export_connector {
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
