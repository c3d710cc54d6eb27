//! Output helpers shared by the `synack` command and the experiments: line charts of CSV
//! files as SVG, atomic file writes, and the exit for a command-line error. Below both, so
//! neither depends on the other.

pub mod plot;

use anyhow::Context;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers never see a partial file and an interrupted run leaves none behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file_name = path.file_name().context("output path has no file name")?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

fn fail(line: &str) -> ExitCode {
    eprintln!("{line}");
    ExitCode::from(2)
}

/// What a binary does with a clap failure: `--help` and `--version` print and exit 0;
/// anything else is the first line of clap's message (it names the flag), `prefix` before
/// it, on stderr, with exit code 2.
pub fn clap_exit(err: clap::Error, prefix: &str) -> ExitCode {
    if !err.use_stderr() {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let message = err.to_string();
    fail(&format!(
        "{prefix}{}",
        message.lines().next().unwrap_or(&message).trim_end()
    ))
}
