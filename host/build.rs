//! Builds the bundled connectors (plugins/*) as wasm32-wasip2 components and
//! embeds them in the `ferry` binary, so a fresh install has them.
//!
//! The connectors are built by a nested `cargo build` into their own target
//! directory (`target/connectors`), which keeps the outer build's lock free
//! and the host's profile out of the guests' (they always use the
//! `connector` profile: small and optimised).
//!
//! Set `FERRY_PREBUILT_CONNECTORS=DIR` to embed `DIR/<id>.wasm` files instead
//! (packaging, or machines without the wasm target).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (connector id, cargo package, artifact file stem)
const BUNDLED: &[(&str, &str, &str)] = &[
    ("syncro", "ferry-syncro", "ferry_syncro"),
    ("cw-manage", "ferry-cw-manage", "ferry_cw_manage"),
    ("halopsa", "ferry-halopsa", "ferry_halopsa"),
];

/// Built with the bundled ones but not embedded: the connector template and
/// test-only components that misbehave on purpose. Their directory reaches
/// the tests as `FERRY_CONNECTOR_ARTIFACTS`.
const TEST_ONLY: &[&str] =
    &["ferry-test-probe", "ferry-test-future", "ferry-test-hostile", "ferry-test-bloated", "ferry-template"];

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "connector";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("host/ lives inside the workspace").to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    println!("cargo:rerun-if-env-changed=FERRY_PREBUILT_CONNECTORS");
    for path in ["plugins", "wit", "tests/connectors", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }

    let artifacts = match env::var_os("FERRY_PREBUILT_CONNECTORS") {
        Some(dir) => prebuilt(Path::new(&dir)),
        None => build_connectors(&workspace, &out_dir),
    };

    let mut code = String::from("/// Connectors compiled into this binary: (id, component bytes).\n");
    code.push_str("pub const BUNDLED: &[(&str, &[u8])] = &[\n");
    for (id, path) in &artifacts {
        let dest = out_dir.join(format!("{id}.wasm"));
        std::fs::copy(path, &dest).unwrap_or_else(|e| panic!("copy {} → {}: {e}", path.display(), dest.display()));
        let _ = writeln!(code, "    ({id:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{id}.wasm\"))),");
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("bundled.rs"), code).expect("write bundled.rs");
}

fn prebuilt(dir: &Path) -> Vec<(String, PathBuf)> {
    println!("cargo:rustc-env=FERRY_CONNECTOR_ARTIFACTS={}", dir.display());
    BUNDLED
        .iter()
        .map(|(id, _, _)| {
            let path = dir.join(format!("{id}.wasm"));
            assert!(path.is_file(), "FERRY_PREBUILT_CONNECTORS: {} is missing", path.display());
            (id.to_string(), path)
        })
        .collect()
}

fn build_connectors(workspace: &Path, out_dir: &Path) -> Vec<(String, PathBuf)> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            out_dir.ancestors().nth(4).map(Path::to_path_buf).unwrap_or_else(|| workspace.join("target"))
        })
        .join("connectors");

    require_wasm_target();

    let mut cmd = Command::new(&cargo);
    cmd.current_dir(workspace)
        .arg("build")
        .arg("--target")
        .arg(TARGET)
        .arg("--profile")
        .arg(PROFILE)
        .arg("--target-dir")
        .arg(&target_dir);
    for (_, package, _) in BUNDLED {
        cmd.arg("-p").arg(package);
    }
    for package in TEST_ONLY {
        cmd.arg("-p").arg(package);
    }
    // The outer build's flags are for the host, not for wasm guests.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        if let Some(k) = key.to_str()
            && (k.starts_with("CARGO_PROFILE_") || k.starts_with("CARGO_CFG_") || k.starts_with("CARGO_FEATURE_"))
        {
            cmd.env_remove(k);
        }
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("could not run `{cargo} build` for the connectors: {e}"));
    assert!(status.success(), "building the bundled connectors for {TARGET} failed (see the errors above)");
    println!("cargo:rustc-env=FERRY_CONNECTOR_ARTIFACTS={}", target_dir.join(TARGET).join(PROFILE).display());

    BUNDLED
        .iter()
        .map(|(id, _, stem)| {
            let path = target_dir.join(TARGET).join(PROFILE).join(format!("{stem}.wasm"));
            assert!(path.is_file(), "expected connector artifact {}", path.display());
            (id.to_string(), path)
        })
        .collect()
}

/// Fail early, with the fix, when the wasm target is not installed.
fn require_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(sysroot) = sysroot {
        let lib = Path::new(&sysroot).join("lib/rustlib").join(TARGET);
        if !lib.is_dir() {
            panic!(
                "\n\nFerry bundles its connectors as {TARGET} components, but that Rust target is not installed.\nFix: rustup target add {TARGET}\n\n"
            );
        }
    }
}
