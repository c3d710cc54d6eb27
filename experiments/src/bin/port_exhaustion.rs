//! Runs the `port_exhaustion` experiment; see `experiments::port_exhaustion`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::port_exhaustion::PortExhaustion)
}
