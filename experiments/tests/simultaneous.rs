//! The `simultaneous` experiment's claim: an open or a close is simultaneous if and only if
//! the offset between the peers is below the one-way delay.

mod common;

#[test]
fn opens_and_closes_are_simultaneous_exactly_when_the_offset_is_below_the_delay() {
    let (report, rows) = common::quick_rows(&experiments::simultaneous::Simultaneous, 4);
    assert_eq!((report.points, report.failed), (40, 0));
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
            other => panic!("phase {other}"),
        }
        // Deterministic: the plotted fraction is the prediction, exactly.
        assert_eq!(r.num("simultaneous_fraction"), expected, "{r:?}");
        assert_eq!(r.num("simultaneous_predicted"), expected);
    }
    assert_eq!((below, above), (24, 16));
}
