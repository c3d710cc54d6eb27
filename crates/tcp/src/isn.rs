//! Initial sequence numbers.

use crate::Seq;
use rand::Rng;
use synack_kernel::{SimRng, SimTime};

/// How an endpoint chooses its initial sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsnGenerator {
    /// Always the same number: what RFC 9293 warns against (old duplicates are accepted,
    /// and off-path attackers guess it at once).
    Constant(u32),
    /// `start`, `start + step`, ... in the order connections are made.
    Counter {
        /// The first ISN.
        start: u32,
        /// Added for each connection; at least 1.
        step: u32,
    },
    /// RFC 793's clock: the ISN is a counter incremented every 4 microseconds.
    Clock4us,
    /// RFC 6528: `M + F(4-tuple, secret)`, with `M` the 4-microsecond clock and `F` a keyed
    /// hash whose 128-bit key is drawn from the host's seeded stream. (The hash is a
    /// well-mixed keyed function, not a cryptographic one: the model needs unpredictability
    /// to an off-path guesser, not resistance to cryptanalysis.)
    Rfc6528,
}

/// The addresses and ports of a connection, from this endpoint's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourTuple {
    /// Our IPv4 address.
    pub local_addr: u32,
    /// Our port.
    pub local_port: u16,
    /// The peer's IPv4 address.
    pub remote_addr: u32,
    /// The peer's port.
    pub remote_port: u16,
}

/// A host's ISN source: the generator plus its state (counter, secret key).
#[derive(Debug, Clone)]
pub struct IsnSource {
    generator: IsnGenerator,
    next: u32,
    key: [u64; 2],
}

/// Ticks of RFC 793's and RFC 6528's clock.
const TICK_NANOS: u64 = 4_000;

impl IsnSource {
    /// A source for `generator`; an RFC 6528 key is drawn from `rng`.
    pub fn new(generator: IsnGenerator, rng: &mut SimRng) -> Self {
        let next = match generator {
            IsnGenerator::Counter { start, .. } => start,
            _ => 0,
        };
        let key = match generator {
            IsnGenerator::Rfc6528 => [rng.next_u64(), rng.next_u64()],
            _ => [0, 0],
        };
        IsnSource {
            generator,
            next,
            key,
        }
    }

    /// The ISN of a connection on `tuple` opened at `now`.
    pub fn isn(&mut self, tuple: &FourTuple, now: SimTime) -> Seq {
        let clock = (now.as_nanos() / TICK_NANOS) as u32;
        Seq(match self.generator {
            IsnGenerator::Constant(isn) => isn,
            IsnGenerator::Counter { step, .. } => {
                let isn = self.next;
                self.next = self.next.wrapping_add(step);
                isn
            }
            IsnGenerator::Clock4us => clock,
            IsnGenerator::Rfc6528 => clock.wrapping_add(keyed_hash(self.key, tuple)),
        })
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn keyed_hash(key: [u64; 2], t: &FourTuple) -> u32 {
    let addrs = (u64::from(t.local_addr) << 32) | u64::from(t.remote_addr);
    let ports = (u64::from(t.local_port) << 16) | u64::from(t.remote_port);
    let h = mix(mix(addrs ^ key[0]).wrapping_add(ports) ^ key[1]);
    (h ^ (h >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_kernel::RandomStreams;

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local_addr: 0x0a00_0001,
            local_port: port,
            remote_addr: 0x0a00_0002,
            remote_port: 80,
        }
    }

    #[test]
    fn counter_steps_and_constant_stays() {
        let mut rng = RandomStreams::new(1).stream("isn");
        let mut counter = IsnSource::new(
            IsnGenerator::Counter {
                start: u32::MAX,
                step: 2,
            },
            &mut rng,
        );
        let now = SimTime::ZERO;
        assert_eq!(counter.isn(&tuple(1), now), Seq(u32::MAX));
        assert_eq!(counter.isn(&tuple(1), now), Seq(1));
        let mut constant = IsnSource::new(IsnGenerator::Constant(7), &mut rng);
        assert_eq!(constant.isn(&tuple(1), now), constant.isn(&tuple(2), now));
    }

    #[test]
    fn clock_ticks_every_4_microseconds() {
        let mut rng = RandomStreams::new(1).stream("isn");
        let mut clock = IsnSource::new(IsnGenerator::Clock4us, &mut rng);
        assert_eq!(clock.isn(&tuple(1), SimTime::from_nanos(3_999)), Seq(0));
        assert_eq!(clock.isn(&tuple(1), SimTime::from_nanos(8_000)), Seq(2));
    }

    #[test]
    fn rfc6528_depends_on_tuple_key_and_clock() {
        let streams = RandomStreams::new(1);
        let mut a = IsnSource::new(IsnGenerator::Rfc6528, &mut streams.stream("a"));
        let mut b = IsnSource::new(IsnGenerator::Rfc6528, &mut streams.stream("b"));
        let t0 = SimTime::ZERO;
        assert_ne!(a.isn(&tuple(1), t0), a.isn(&tuple(2), t0));
        assert_ne!(a.isn(&tuple(1), t0), b.isn(&tuple(1), t0));
        // The same tuple 4 us later: the clock part moves by one.
        let later = SimTime::from_nanos(4_000);
        assert_eq!(a.isn(&tuple(1), later) - a.isn(&tuple(1), t0), 1);
    }
}
