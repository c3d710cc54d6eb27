//! The `half_open` experiment's claims: Linux resends the SYN-ACK at 1, 3, 7, 15 and 31 s
//! and frees the slot at 63 s; every profile does in the world what its endpoint does
//! alone, driven into a black hole.

use experiments::ExperimentArgs;
use experiments::sweep::sweep;
use synack_tcp::host::{profile, schedule::synack_to_a_vanished_peer};

#[test]
fn linux_resends_at_1_3_7_15_31_and_frees_the_slot_at_63_and_every_profile_matches_its_schedule() {
    let out = std::env::temp_dir().join(format!("synack-half-open-{}", std::process::id()));
    let report = sweep(
        &experiments::half_open::HalfOpen,
        &ExperimentArgs::quick(out.clone(), 3),
    )
    .unwrap();
    assert_eq!((report.points, report.failed), (6, 0));
    let mut reader = csv::Reader::from_path(&report.csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let mut rows = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let get = |name: &str| {
            r.get(headers.iter().position(|h| h == name).unwrap())
                .unwrap()
        };
        let name = get("profile");
        let resent = get("synack_resent_at_s");
        let held: f64 = get("slot_held_s").parse().unwrap();
        if name == "linux" {
            assert_eq!((resent, held), ("1 3 7 15 31", 63.0));
        }
        let alone = synack_to_a_vanished_peer(&profile(name).unwrap());
        let expected: Vec<String> = alone.sends[1..]
            .iter()
            .map(|t| t.as_secs_f64().to_string())
            .collect();
        assert_eq!(resent, expected.join(" "), "{name}");
        assert_eq!(held, alone.gives_up.as_secs_f64(), "{name}");
        rows += 1;
    }
    assert_eq!(rows, synack_tcp::host::PROFILES.len());
    let _ = std::fs::remove_dir_all(&out);
}
