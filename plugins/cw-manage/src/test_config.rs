//! The tenant every native test of the connector talks to: its settings
//! and the API root `FakeHttp` routes are written against.

use ferry_sdk::prelude::RawConfig;

pub const API: &str = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0";

pub fn config() -> RawConfig {
    [("site", "na.myconnectwise.net"), ("company_id", "acme"), ("public_key", "pub"), ("private_key", "priv")]
        .into_iter()
        .chain([("client_id", "guid")])
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `path` under the tenant's API root.
pub fn route(path: &str) -> String {
    format!("{API}{path}")
}
