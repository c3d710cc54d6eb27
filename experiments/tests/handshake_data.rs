//! The `handshake_data` experiment's claims: the response comes two round trips after
//! connect() wherever the request goes; the request on the handshake's last segment or on
//! the SYN saves the handshake's bare ACK, and a Linux server that drops SYN data makes
//! the client send the request twice.

mod common;
use experiments::handshake_data::HandshakeData;
use std::collections::BTreeMap;

#[test]
fn every_way_takes_two_round_trips_and_only_the_segments_differ() {
    let (report, rows) = common::quick_rows(&HandshakeData, 2);
    assert_eq!((report.points, report.failed), (4 * 8, 0));
    let own: BTreeMap<String, f64> = rows
        .iter()
        .filter(|r| r.get("way") == "own_segment")
        .map(|r| (r.get("delay_ms").to_string(), r.num("client_segments")))
        .collect();
    assert_eq!(own.len(), 8);
    for r in &rows {
        assert_eq!(r.num("responses"), 10.0, "{r:?}");
        // The link has no bandwidth limit: exact up to the nanosecond clock.
        assert!(
            (r.num("response_rtts") - r.num("response_rtts_predicted")).abs() < 1e-6,
            "{r:?}"
        );
        let saved = own[r.get("delay_ms")] - r.num("client_segments");
        let copies = r.num("request_copies");
        match r.get("way") {
            "own_segment" => assert_eq!((saved, copies), (0.0, 1.0), "{r:?}"),
            "syn_to_linux" => assert_eq!((saved, copies), (1.0, 2.0), "{r:?}"),
            _ => assert_eq!((saved, copies), (1.0, 1.0), "{r:?}"),
        }
    }
}
