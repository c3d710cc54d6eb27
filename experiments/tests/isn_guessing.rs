//! The `isn_guessing` experiment's claims: a constant ISN is guessed at once; RFC 6528
//! leaves a blind attacker window / 2^32 per attempt; RFC 5961 cuts a blind RST's chance
//! further.

mod common;

use experiments::stats::{Z, binomial_band};

#[test]
fn blind_injection_succeeds_as_often_as_the_isns_allow() {
    let (report, rows) = common::quick_rows(&experiments::isn_guessing::IsnGuessing, 31);
    assert_eq!((report.points, report.failed), (16, 0));
    let find = |isn: &str, attack: &str, rfc5961: &str| {
        rows.iter()
            .find(|r| {
                r.get("isn") == isn && r.get("attack") == attack && r.get("rfc5961") == rfc5961
            })
            .unwrap_or_else(|| panic!("no row {isn} {attack} {rfc5961}"))
    };
    for attack in ["rst", "data"] {
        for rfc5961 in ["off", "on"] {
            let constant = find("constant", attack, rfc5961);
            assert!(constant.num("success_probability") >= 0.99, "{constant:?}");
        }
    }
    // RFC 6528, no RFC 5961: a RST anywhere in the 131,072-byte window, Poisson at 4 sigma.
    let blind = find("rfc6528", "rst", "off");
    let expected = blind.num("attempts") * 131_072.0 / 2f64.powi(32);
    let successes = blind.num("successes");
    assert!(
        (successes - expected).abs() <= 4.0 * expected.sqrt(),
        "{successes} successes, {expected} expected"
    );
    assert_eq!(
        blind.num("window_over_2_32"),
        experiments::isn_guessing::RECEIVE_WINDOW as f64 / 2f64.powi(32)
    );
    // RFC 5961: only a RST at exactly RCV.NXT resets.
    for isn in ["clock4us", "rfc6528"] {
        let (off, on) = (find(isn, "rst", "off"), find(isn, "rst", "on"));
        assert!(
            on.num("successes") * 100.0 < off.num("successes"),
            "{on:?} against {off:?}"
        );
    }
    // Every closed-form prediction, binomial at 4 sigma: 1 for predictable ISNs (exactly),
    // a half for the 4 us clock's RST, 4 in a million with RFC 5961, window / 2^32 for RFC
    // 6528, and 1 / 2^32 with RFC 5961 (0 of 10^6 expected).
    let mut checked = 0;
    for r in &rows {
        let p = r.num("success_predicted");
        if p.is_nan() {
            continue;
        }
        let (low, high) = binomial_band(r.num("attempts"), p, Z);
        assert!(
            (low..=high).contains(&r.num("successes")),
            "predicted {p}: {r:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 12);
    // The 4 us clock, known to +-0.5 s: half the guesses land in the window.
    let clock = find("clock4us", "rst", "off").num("success_probability");
    assert!((clock - 0.5).abs() < 0.01, "{clock}");
}
