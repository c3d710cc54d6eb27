//! The fuzz harness's invariants over random inputs, in the normal test suite (the
//! cargo-fuzz targets in `crates/tcp/fuzz` explore the same space with coverage guidance).
//! Inputs the fuzzers found are kept under `crates/tcp/fuzz/regressions/` and replayed here.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn endpoint_invariants_hold_on_arbitrary_input(data in prop::collection::vec(any::<u8>(), 0..1500)) {
        synack_tcp::fuzzing::endpoint(&data);
    }

    #[test]
    fn host_invariants_hold_on_arbitrary_input(data in prop::collection::vec(any::<u8>(), 0..1500)) {
        synack_tcp::fuzzing::host(&data);
    }
}

#[test]
fn fuzzer_findings_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        match path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .split('-')
            .next()
        {
            Some("endpoint") => synack_tcp::fuzzing::endpoint(&data),
            Some("host") => synack_tcp::fuzzing::host(&data),
            other => panic!("{}: unknown target {other:?}", path.display()),
        }
    }
}
