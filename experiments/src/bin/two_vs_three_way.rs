//! Runs the `two_vs_three_way` experiment; see `experiments::two_vs_three_way`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::two_vs_three_way::TwoVsThreeWay)
}
