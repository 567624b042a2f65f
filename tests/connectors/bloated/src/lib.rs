//! A test-only connector whose `info()` carries a 20 MB description: Ferry
//! must refuse to install it, with a short, clear error.

use ferry_sdk::prelude::*;

struct Bloated;

impl Source for Bloated {
    fn info() -> ConnectorInfo {
        ConnectorInfo {
            id: "bloated".into(),
            name: "Bloated (test only)".into(),
            version: "0.1.0".into(),
            description: "d".repeat(20 * 1024 * 1024),
            config: vec![],
            streams: vec![StreamInfo { kind: StreamKind::Companies, incremental: false, description: "c".into() }],
            allowed_hosts: vec![],
            rate_limit: None,
            extra_streams: vec![],
        }
    }

    fn validate_config(config: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
        Ok(ValidatedConfig { config: Config::new(config).into_pairs(), notices: vec![] })
    }

    fn check(_config: RawConfig) -> Result<CheckReport, ConnectorError> {
        Ok(CheckReport { summary: "ok".into(), facts: vec![], warnings: vec![] })
    }

    fn read(
        _config: RawConfig,
        _stream: StreamRef,
        _cursor: Option<String>,
        _since: Option<String>,
    ) -> Result<Page, ConnectorError> {
        Ok(Page { records: Records::Companies(vec![]), next: None, total: None })
    }
}

ferry_sdk::export_connector!(Bloated);
