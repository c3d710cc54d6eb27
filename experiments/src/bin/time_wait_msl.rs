//! Runs the `time_wait_msl` experiment; see `experiments::time_wait_msl`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::time_wait_msl::TimeWaitMsl)
}
