//! The `last_ack_loss` experiment's claims: with TIME-WAIT a lost final ACK is repaired,
//! and no passive close ends in a RST; the orphan in LAST-ACK gives up after Linux's 8
//! orphan retries when all nine final ACKs are lost (p^9); without TIME-WAIT the fraction
//! of passive closes ended by a RST tracks the loss.

mod common;

#[test]
fn time_wait_repairs_lost_final_acks_and_the_orphan_gives_up_after_its_retries() {
    assert_eq!(
        experiments::last_ack_loss::final_ack_chances(),
        Ok((9, true)),
        "the first FIN and 8 orphan retries, at most 25.6 s apart: within 60 s"
    );
    let (report, rows) = common::quick_rows(&experiments::last_ack_loss::LastAckLoss, 23);
    assert_eq!((report.points, report.failed), (18, 0));
    let within = |measured: f64, predicted: f64| {
        // Binomial over 200 closes, 4 sigma.
        let sigma = (predicted * (1.0 - predicted) / 200.0).sqrt();
        (measured - predicted).abs() <= 4.0 * sigma + 1e-9
    };
    for r in &rows {
        let p = r.num("final_ack_loss");
        let (reset, timeout) = (r.num("reset_fraction"), r.num("timeout_fraction"));
        assert_eq!(r.num("passive_closes"), 200.0);
        assert_eq!(r.num("clean_fraction") + reset + timeout, 1.0, "{r:?}");
        assert_eq!(r.num("unclean_fraction"), reset + timeout, "{r:?}");
        assert!(within(reset, r.num("reset_predicted")), "{r:?}");
        assert!(within(timeout, r.num("timeout_predicted")), "{r:?}");
        match r.get("active_closer") {
            "time_wait" => {
                assert_eq!(reset, 0.0, "{r:?}");
                assert_eq!(r.num("timeout_predicted"), p.powi(9), "{r:?}");
                if p <= 0.3 {
                    assert_eq!(timeout, 0.0, "{r:?}");
                }
                if p == 1.0 {
                    assert_eq!(timeout, 1.0, "{r:?}");
                }
            }
            "no_time_wait" => {
                assert_eq!(r.num("reset_predicted"), p);
                assert_eq!(timeout, 0.0, "{r:?}");
            }
            "linger_zero" => assert_eq!(reset, 1.0, "{r:?}"),
            _ => {}
        }
    }
}
