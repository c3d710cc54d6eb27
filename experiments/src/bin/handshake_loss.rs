//! Runs the `handshake_loss` experiment; see `experiments::handshake_loss`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::handshake_loss::HandshakeLoss)
}
