//! Ferry: an open integration engine that pulls PSA data (companies,
//! contacts, assets, agreements, sites, tickets) through sandboxed
//! WebAssembly connectors into an IT documentation store.
//!
//! See ARCHITECTURE.md for the map of modules and how a sync flows.

pub mod apply;
pub mod cli;
pub mod companies;
pub mod conformance;
pub mod connector_state;
pub mod console;
pub mod curation;
pub mod hashing;
pub mod integrations;
#[cfg(test)]
mod invariants;
pub mod lock;
pub mod matching;
pub mod model;
pub mod options;
pub mod registry;
pub mod rules;
pub mod runtime;
pub mod schedule;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod sync;
pub mod text;
pub mod vault;
