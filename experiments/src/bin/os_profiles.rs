//! Runs the `os_profiles` experiment; see `experiments::os_profiles`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::os_profiles::OsProfiles)
}
