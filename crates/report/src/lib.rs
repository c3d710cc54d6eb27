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

/// Writes one line to stdout as a Unix tool does: a closed pipe (`| head -1`) ends the
/// program quietly with exit code 141 (128 + SIGPIPE, what a tool killed by it reports);
/// any other write error (`> /dev/full`) is one line on stderr, naming `program`, and exit
/// code 1.
pub fn print_line(program: &str, line: std::fmt::Arguments) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("{program}: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

fn fail(line: &str) -> ExitCode {
    eprintln!("{line}");
    ExitCode::from(2)
}

/// What a binary does with a clap failure: `--help` and `--version` print and exit 0;
/// anything else is clap's whole message folded onto one line (`prefix` first: the error,
/// each tip, what is missing, the usage), on stderr, with exit code 2.
pub fn clap_exit(err: clap::Error, prefix: &str) -> ExitCode {
    if !err.use_stderr() {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    // No subcommand at all (bare `synack`): the help as `--help` lays it out, on stderr, not
    // folded onto one line; still exit 2, since nothing was run.
    if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = err.print();
        return ExitCode::from(2);
    }
    fail(&format!("{prefix}{}", fold_clap_message(&err.to_string())))
}

/// Clap's message on one line: its paragraphs joined by "; ", minus the closing pointer to
/// `--help`, and a trailing colon joined to what it introduces.
pub fn fold_clap_message(message: &str) -> String {
    let mut folded = String::new();
    for line in message.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("For more information") {
            continue;
        }
        if !folded.is_empty() {
            folded.push_str(if folded.ends_with(':') { " " } else { "; " });
        }
        folded.push_str(line);
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::fold_clap_message;

    #[test]
    fn clap_messages_fold_to_one_line_keeping_tips_and_what_is_missing() {
        let unknown = "error: unexpected argument '--sed' found\n\n  tip: a similar argument exists: '--seed'\n\nUsage: synack run --seed <SEED> <SCENARIO>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            fold_clap_message(unknown),
            "error: unexpected argument '--sed' found; tip: a similar argument exists: '--seed'; Usage: synack run --seed <SEED> <SCENARIO>"
        );
        let missing = "error: the following required arguments were not provided:\n  <SCENARIO>\n\nUsage: synack run <SCENARIO>\n";
        assert_eq!(
            fold_clap_message(missing),
            "error: the following required arguments were not provided: <SCENARIO>; Usage: synack run <SCENARIO>"
        );
    }
}
