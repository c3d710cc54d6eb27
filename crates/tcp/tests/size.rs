//! The endpoint and what travels must stay small: experiments hold millions of them.

use synack_tcp::host::Datagram;
use synack_tcp::{Connection, Segment};

#[test]
fn connection_fits_in_208_bytes() {
    // 200 until the Linux profile's SYN options and quick ACKs (measured with packetdrill)
    // took a 16-bit flag word: 8 bytes more a connection.
    let size = std::mem::size_of::<Connection>();
    println!("size_of::<Connection>() = {size} bytes");
    assert!(size <= 208, "Connection is {size} bytes");
}

#[test]
fn segment_and_datagram_are_compact() {
    // A datagram on its way sits in a link's lane: 15,000 connections at once hold ~47,000.
    let (segment, datagram) = (size_of::<Segment>(), size_of::<Datagram>());
    assert!(segment <= 52, "Segment is {segment} bytes");
    assert!(datagram <= 68, "Datagram is {datagram} bytes");
    assert_eq!(
        align_of::<Datagram>(),
        4,
        "so a lane entry packs to 76 bytes"
    );
}
