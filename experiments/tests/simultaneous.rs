//! The `simultaneous` experiment's claim: an open or a close is simultaneous if and only if
//! the offset between the peers is below the one-way delay.

use experiments::ExperimentArgs;
use experiments::sweep::sweep;

#[test]
fn opens_and_closes_are_simultaneous_exactly_when_the_offset_is_below_the_delay() {
    let out = std::env::temp_dir().join(format!("synack-simultaneous-{}", std::process::id()));
    let report = sweep(
        &experiments::simultaneous::Simultaneous,
        &ExperimentArgs::quick(out.clone(), 4),
    )
    .unwrap();
    assert_eq!((report.points, report.failed), (20, 0));
    let mut reader = csv::Reader::from_path(&report.csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let (mut below, mut above) = (0, 0);
    for r in reader.records() {
        let r = r.unwrap();
        let get = |name: &str| {
            r.get(headers.iter().position(|h| h == name).unwrap())
                .unwrap()
        };
        let num = |name: &str| get(name).parse::<f64>().unwrap();
        let expected = if num("offset_ratio") < 1.0 {
            below += 1;
            1.0
        } else {
            above += 1;
            0.0
        };
        let (opens, closes) = (
            num("simultaneous_open_fraction"),
            num("simultaneous_close_fraction"),
        );
        match get("phase") {
            // Refused opens leave nothing to close.
            "open" => assert_eq!((opens, closes), (expected, expected), "{r:?}"),
            // The connects are 0 s apart, so the open is always simultaneous.
            "close" => assert_eq!((opens, closes), (1.0, expected), "{r:?}"),
            other => panic!("phase {other}"),
        }
    }
    assert_eq!((below, above), (12, 8));
    let _ = std::fs::remove_dir_all(&out);
}
