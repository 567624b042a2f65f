//! Ferry: an open integration engine that pulls PSA data (companies,
//! contacts, assets, agreements, sites, tickets) through sandboxed
//! WebAssembly connectors into an IT documentation store.
//!
//! See ARCHITECTURE.md for the map of modules and how a sync flows.

pub mod model;
pub mod runtime;
pub mod secrets;
pub mod store;
