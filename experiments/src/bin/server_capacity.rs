//! Runs the `server_capacity` experiment; see `experiments::server_capacity`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::server_capacity::ServerCapacity)
}
