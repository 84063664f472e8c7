//! Makes `cargo test` build the `trailglass` binary: the integration tests, compiled into the
//! library's test binary (see tests/integration/main.rs), run it.

#[test]
fn the_binary_runs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailglass"))
        .arg("--version")
        .output()
        .expect("run trailglass --version");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("trailglass "));
}
