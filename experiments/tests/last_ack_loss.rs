//! The `last_ack_loss` experiment's claims: with TIME-WAIT a lost final ACK is repaired
//! (every passive close is clean unless all its ACK chances within TIME-WAIT are lost);
//! without TIME-WAIT the fraction of passive closes ended by a RST tracks the loss.

mod common;

#[test]
fn time_wait_repairs_lost_final_acks_and_without_it_resets_track_the_loss() {
    assert_eq!(
        experiments::last_ack_loss::ack_chances_within_time_wait(),
        Ok(10),
        "200 ms doubling: 9 FIN gaps below 60 s"
    );
    let (report, rows) = common::quick_rows(&experiments::last_ack_loss::LastAckLoss, 23);
    assert_eq!((report.points, report.failed), (18, 0));
    for r in &rows {
        let (p, reset, predicted) = (
            r.num("final_ack_loss"),
            r.num("reset_fraction"),
            r.num("reset_predicted"),
        );
        assert_eq!(r.num("passive_closes"), 200.0);
        assert_eq!(r.num("timeout_fraction"), 0.0, "{r:?}");
        assert_eq!(r.num("clean_fraction") + reset, 1.0, "{r:?}");
        // Binomial over 200 closes, 4 sigma.
        let sigma = (predicted * (1.0 - predicted) / 200.0).sqrt();
        assert!((reset - predicted).abs() <= 4.0 * sigma + 1e-9, "{r:?}");
        match r.get("active_closer") {
            "time_wait" if p <= 0.3 => assert_eq!(reset, 0.0, "{r:?}"),
            "no_time_wait" => assert_eq!(predicted, p),
            "linger_zero" => assert_eq!(reset, 1.0, "{r:?}"),
            _ => {}
        }
    }
}
