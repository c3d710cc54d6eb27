//! Running the `synack` binary from the integration tests.

use std::process::Command;

/// Runs `synack` with `args`: exit code, stdout, stderr.
pub fn synack(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}
