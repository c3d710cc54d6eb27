//! Runs the `last_ack_loss` experiment; see `experiments::last_ack_loss`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::last_ack_loss::LastAckLoss)
}
