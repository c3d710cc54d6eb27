//! Runs the `handshake_data` experiment; see `experiments::handshake_data`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::handshake_data::HandshakeData)
}
