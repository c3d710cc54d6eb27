//! Runs the `scale` experiment; see `experiments::scale`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::scale::Scale)
}
