//! Runs the `isn_guessing` experiment; see `experiments::isn_guessing`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::isn_guessing::IsnGuessing)
}
