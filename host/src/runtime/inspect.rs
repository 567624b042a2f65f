//! Is this file a Ferry connector? Checked before anything is installed or
//! run: it must be a component (not a core module, not garbage), export a
//! contract version this host speaks, and import nothing beyond what Ferry
//! grants.

use wasmtime::Engine;
use wasmtime::component::Component;

/// Contract versions this host loads, newest first.
pub const SUPPORTED_CONTRACTS: &[&str] = super::wit::VERSIONS;

/// Import prefixes a connector may have. WASI's io/cli/clocks/random are
/// what Rust's std pulls into every wasm32-wasip2 component; Python and
/// JavaScript runtimes also import filesystem and sockets. All are served
/// with an empty context: no environment, no args, no stdin, stdout/stderr
/// captured, no preopened directory (so no file to open), and sockets that
/// may neither resolve a name nor connect anywhere. Anything else — wasi:http
/// included — is refused: the network is ferry:connector/http.
const GRANTED_IMPORTS: &[&str] =
    &["ferry:connector/", "wasi:io/", "wasi:cli/", "wasi:clocks/", "wasi:random/", "wasi:filesystem/", "wasi:sockets/"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAConnector {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not WebAssembly (it does not start with the `\\0asm` magic)")]
    NotWasm,
    #[error(
        "the file is a plain WebAssembly module, not a component; build the connector for `wasm32-wasip2` (or wrap the module with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("the component does not load: {0}")]
    Invalid(String),
    #[error(
        "the component exports no `ferry:connector/source` interface (it exports: {exports}); it is not a Ferry connector"
    )]
    NotFerry { exports: String },
    #[error(
        "the component targets contract ferry:connector@{found}, which this Ferry does not support (it loads {supported}); use a connector built for one of those, or upgrade Ferry"
    )]
    UnsupportedContract { found: String, supported: String },
    #[error(
        "the component imports `{import}`, which Ferry does not grant: connectors reach the outside only through ferry:connector/http"
    )]
    ForbiddenImport { import: String },
}

/// Cheap checks on the bytes, before compiling.
pub fn check_bytes(bytes: &[u8]) -> Result<(), NotAConnector> {
    if bytes.is_empty() {
        return Err(NotAConnector::Empty);
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(NotAConnector::CoreModule);
    }
    if !wasmparser::Parser::is_component(bytes) {
        return Err(NotAConnector::NotWasm);
    }
    Ok(())
}

/// The contract version a compiled component implements, after checking its
/// imports and exports.
pub fn contract_version(engine: &Engine, component: &Component) -> Result<&'static str, NotAConnector> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    let source_exports: Vec<&String> = exports.iter().filter(|e| e.starts_with("ferry:connector/source")).collect();
    if source_exports.is_empty() {
        let listed = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
        return Err(NotAConnector::NotFerry { exports: listed });
    }
    let version = source_exports
        .iter()
        .find_map(|e| {
            let v = e.split_once('@').map(|(_, v)| v).unwrap_or("");
            SUPPORTED_CONTRACTS.iter().copied().find(|s| compatible(s, v))
        })
        .ok_or_else(|| NotAConnector::UnsupportedContract {
            found: source_exports
                .iter()
                .map(|e| e.split_once('@').map(|(_, v)| v).unwrap_or("(unversioned)"))
                .collect::<Vec<_>>()
                .join(", "),
            supported: SUPPORTED_CONTRACTS.join(", "),
        })?;
    for (name, _) in ty.imports(engine) {
        if !GRANTED_IMPORTS.iter().any(|p| name.starts_with(p)) {
            return Err(NotAConnector::ForbiddenImport { import: name.to_string() });
        }
        if name.starts_with("ferry:connector/") && !name.ends_with(&format!("@{version}")) {
            return Err(NotAConnector::UnsupportedContract {
                found: name.split_once('@').map(|(_, v)| v).unwrap_or("(unversioned)").to_string(),
                supported: SUPPORTED_CONTRACTS.join(", "),
            });
        }
    }
    Ok(version)
}

/// Whether the component imports the connector `state` interface: only a
/// connector that keeps values across calls can share a token between
/// them, and only then must a run's first call go alone (see
/// `sync::fetch`).
pub fn imports_state(engine: &Engine, component: &Component) -> bool {
    component.component_type().imports(engine).any(|(name, _)| name.starts_with("ferry:connector/state@"))
}

/// Semver compatibility as the component model applies it: same major, or
/// for 0.x the same minor; the exact patch may differ.
fn compatible(supported: &str, found: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    match (parse(supported), parse(found)) {
        (Some((0, a)), Some((0, b))) => a == b,
        (Some((a, _)), Some((b, _))) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_checks() {
        assert_eq!(check_bytes(b""), Err(NotAConnector::Empty));
        assert_eq!(check_bytes(b"#!/bin/sh\necho hi\n"), Err(NotAConnector::NotWasm));
        // `(module)` as binary: magic + version 1.
        assert_eq!(check_bytes(b"\0asm\x01\0\0\0"), Err(NotAConnector::CoreModule));
        // Component layer: version 0x0d, layer 1.
        assert!(check_bytes(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn version_compatibility() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.0", "0.1.3"));
        assert!(!compatible("0.1.0", "0.2.0"));
        assert!(!compatible("0.1.0", "1.0.0"));
        assert!(compatible("1.2.0", "1.0.0"));
        assert!(!compatible("0.1.0", ""));
    }
}
