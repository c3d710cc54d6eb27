//! Runs the `half_open_lifetime` experiment; see `experiments::half_open_lifetime`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::half_open_lifetime::HalfOpenLifetime)
}
