//! Runs the `three_segment_close` experiment; see `experiments::three_segment_close`.

fn main() -> std::process::ExitCode {
    experiments::main_for(&experiments::three_segment_close::ThreeSegmentClose)
}
