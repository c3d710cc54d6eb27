//! Runs every experiment, in order, with the same options: the README's main command.

fn main() -> std::process::ExitCode {
    experiments::main_all()
}
