//! The SDK's `Cargo.toml` must build outside Ferry's workspace (a connector
//! author depends on it by path or git from their own crate), so it may
//! inherit nothing from the workspace; and it must not drift from the
//! workspace, or Ferry's own connectors and an author's would be built
//! against different `wit-bindgen`s. The guide names the `wit-bindgen`
//! version, so an author knows it without reading manifests.

use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The lines of one `[section]` of a manifest, comments and blanks dropped.
fn section<'a>(manifest: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("[{name}]");
    manifest
        .lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The line of `section` that sets `key` (`key = ...`).
fn entry<'a>(lines: &[&'a str], key: &str) -> Option<&'a str> {
    lines.iter().copied().find(|l| l.split_once('=').is_some_and(|(k, _)| k.trim() == key))
}

fn sdk_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn inherits_nothing_from_the_workspace() {
    let sdk = read(&sdk_dir().join("Cargo.toml"));
    for line in sdk.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        assert!(
            !line.contains("workspace"),
            "plugins/sdk/Cargo.toml inherits from Ferry's workspace, so it cannot be built outside it: {line}"
        );
    }

    let root = read(&sdk_dir().join("../../Cargo.toml"));
    let (root_package, sdk_package) = (section(&root, "workspace.package"), section(&sdk, "package"));
    for key in ["version", "edition", "rust-version", "license"] {
        assert_eq!(entry(&sdk_package, key), entry(&root_package, key), "package `{key}` differs from the workspace's");
    }
    let (root_deps, sdk_deps) = (section(&root, "workspace.dependencies"), section(&sdk, "dependencies"));
    for dep in ["wit-bindgen", "serde", "serde_json"] {
        let sdk_line = entry(&sdk_deps, dep).unwrap_or_else(|| panic!("the SDK no longer depends on {dep}"));
        assert_eq!(Some(sdk_line), entry(&root_deps, dep), "the SDK's `{dep}` differs from the workspace's");
    }
}

#[test]
fn the_guide_names_the_wit_bindgen_version() {
    let sdk = read(&sdk_dir().join("Cargo.toml"));
    let line = entry(&section(&sdk, "dependencies"), "wit-bindgen").expect("the SDK depends on wit-bindgen");
    let version = line
        .split("version = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("wit-bindgen's version is written `version = \"...\"`");
    let guide = read(&sdk_dir().join("../../docs/writing-a-connector.md"));
    let needle = format!("wit-bindgen {version}");
    assert!(guide.contains(&needle), "docs/writing-a-connector.md §2.2 should say `{needle}`");
}
