//! Runs the `half_open` experiment; see `experiments::half_open`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::half_open::HalfOpen)
}
