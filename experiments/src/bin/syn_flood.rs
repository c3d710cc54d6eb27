//! Runs the `syn_flood` experiment; see `experiments::syn_flood`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::syn_flood::SynFlood)
}
