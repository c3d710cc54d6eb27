//! Runs the `close_wait_leak` experiment; see `experiments::close_wait_leak`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::close_wait_leak::CloseWaitLeak)
}
