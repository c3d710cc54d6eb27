//! The endpoint must stay small: experiments hold millions of them.

use synack_tcp::{Connection, Segment};

#[test]
fn connection_fits_in_200_bytes() {
    let size = std::mem::size_of::<Connection>();
    println!("size_of::<Connection>() = {size} bytes");
    assert!(size <= 200, "Connection is {size} bytes");
}

#[test]
fn segment_is_compact() {
    assert!(
        std::mem::size_of::<Segment>() <= 64,
        "{}",
        std::mem::size_of::<Segment>()
    );
}
