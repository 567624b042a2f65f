//! Ferry: an open integration engine that pulls PSA data (companies,
//! contacts, assets, agreements, sites, tickets) through sandboxed
//! WebAssembly connectors into an IT documentation store.
//!
//! See ARCHITECTURE.md for the map of modules and how a sync flows.

// A `pub` item must be reachable from outside the crate; anything only the
// crate uses is `pub(crate)`, so dead code cannot hide behind `pub`.
#![warn(unreachable_pub)]

pub(crate) mod apply;
pub mod cli;
pub(crate) mod companies;
pub(crate) mod conformance;
pub(crate) mod connector_state;
pub(crate) mod console;
pub(crate) mod curation;
pub(crate) mod hashing;
pub mod integrations;
#[cfg(test)]
mod invariants;
pub(crate) mod kept_window;
pub(crate) mod lock;
pub mod matching;
pub mod model;
pub mod options;
pub mod registry;
pub mod rules;
pub mod runtime;
pub mod schedule;
pub mod secrets;
pub(crate) mod settings;
pub mod store;
pub mod sync;
pub(crate) mod text;
pub(crate) mod vault;
