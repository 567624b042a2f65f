//! The benchmark harness at toy scale, so it cannot rot: every scenario
//! runs end to end against the debug `ferry` binary.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_harness_runs_every_scenario_at_toy_scale() {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_ferry-bench"));
    let ferry = exe.parent().map(|d| d.join("ferry")).expect("target dir");
    assert!(ferry.is_file(), "{} is missing: build the workspace (cargo test --workspace builds it)", ferry.display());
    let out = Command::new(&exe).args(["--smoke", "--ferry"]).arg(&ferry).output().expect("run ferry-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ferry-bench failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for scenario in [
        "syncro: full sync",
        "syncro: vs native floor",
        "syncro: incremental",
        "syncro: apply after a rule change",
        "cw: full sync",
        "cw: vs native floor",
        "scale: Syncro full sync, 20 companies",
        "scale: 40 vs 20 companies",
        "apply: first apply",
        "syncro: rate-limited",
        "connector start: cached load",
        "matching:",
    ] {
        assert!(stdout.contains(scenario), "{scenario} missing from:\n{stdout}");
    }
}
