//! The `simultaneous` experiment's claim: an open or a close is simultaneous if and only if
//! the offset between the peers is below the one-way delay.

mod common;

#[test]
fn opens_and_closes_are_simultaneous_exactly_when_the_offset_is_below_the_delay() {
    let (report, rows) = common::quick_rows(&experiments::simultaneous::Simultaneous, 4);
    assert_eq!((report.points, report.failed), (60, 0));
    let (mut below, mut above) = (0, 0);
    for r in &rows {
        let expected = if r.num("offset_ratio") < 1.0 {
            below += 1;
            1.0
        } else {
            above += 1;
            0.0
        };
        let (opens, closes) = (
            r.num("simultaneous_open_fraction"),
            r.num("simultaneous_close_fraction"),
        );
        match r.get("phase") {
            // Refused opens leave nothing to close.
            "open" => assert_eq!((opens, closes), (expected, expected), "{r:?}"),
            // The connects are 0 s apart, so the open is always simultaneous.
            "close" => assert_eq!((opens, closes), (1.0, expected), "{r:?}"),
            // TIME-WAIT: the first closer always, the second only if simultaneous.
            "time_wait" => {
                assert_eq!((opens, closes), (1.0, expected), "{r:?}");
                let held = (
                    r.num("time_wait_first_closer"),
                    r.num("time_wait_second_closer"),
                );
                assert_eq!(held, (1.0, expected), "{r:?}");
                assert_eq!(r.num("endpoint_fraction"), (1.0 + expected) / 2.0);
                assert_eq!(r.num("endpoint_fraction_predicted"), (1.0 + expected) / 2.0);
                continue;
            }
            other => panic!("phase {other}"),
        }
        // Deterministic: the plotted fraction is the prediction, exactly.
        assert_eq!(r.num("endpoint_fraction"), expected, "{r:?}");
        assert_eq!(r.num("endpoint_fraction_predicted"), expected);
    }
    assert_eq!((below, above), (36, 24));
}
