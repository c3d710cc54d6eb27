//! Runs the `link_loss` experiment; see `experiments::link_loss`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::link_loss::LinkLoss)
}
