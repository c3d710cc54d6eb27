//! Runs the `simultaneous` experiment; see `experiments::simultaneous`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::simultaneous::Simultaneous)
}
