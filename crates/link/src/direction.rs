//! One direction of a link: its state and the verdict it gives each packet.

use crate::{DirectionConfig, LinkConfigError, Loss, Match, Order, QueueLimit};
use rand::RngExt;
use synack_kernel::chunked::ChunkedFifo;
use synack_kernel::{RandomStreams, SimDuration, SimRng, SimTime};

/// A packet as a link sees it: a size, and a payload it does not look into (except through
/// a caller's [`crate::DropRule`] predicate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<P> {
    /// Size on the wire, in bytes (headers included).
    pub size_bytes: u32,
    /// Whatever the caller carries.
    pub payload: P,
}

/// Why a copy of a packet was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropCause {
    /// Independent (Bernoulli) loss.
    RandomLoss,
    /// Gilbert–Elliott loss.
    BurstLoss,
    /// A deterministic [`crate::DropRule`].
    Rule,
    /// Sent during a black hole.
    BlackHole,
    /// The queue in front of the wire was full.
    QueueOverflow,
    /// The copy would have arrived later than the maximum lifetime after it was sent.
    Expired,
}

impl DropCause {
    /// Every cause, in a fixed order (for tables and traces).
    pub const ALL: [DropCause; 6] = [
        DropCause::RandomLoss,
        DropCause::BurstLoss,
        DropCause::Rule,
        DropCause::BlackHole,
        DropCause::QueueOverflow,
        DropCause::Expired,
    ];

    /// A short name for traces: `random_loss`, `burst_loss`, ...
    pub const fn name(self) -> &'static str {
        match self {
            DropCause::RandomLoss => "random_loss",
            DropCause::BurstLoss => "burst_loss",
            DropCause::Rule => "rule",
            DropCause::BlackHole => "black_hole",
            DropCause::QueueOverflow => "queue_overflow",
            DropCause::Expired => "expired",
        }
    }
}

/// What happens to one copy of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The copy arrives at `at`. A `corrupt` copy fails the receiver's checksum.
    Delivered {
        /// Arrival time of the last bit.
        at: SimTime,
        /// Whether the receiver must discard it.
        corrupt: bool,
    },
    /// The copy is lost.
    Dropped(DropCause),
}

/// A direction's decision for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketFates {
    /// The packet itself.
    pub original: Fate,
    /// The network's extra copy, if it made one (only for a packet not dropped before the
    /// wire). It may itself expire.
    pub duplicate: Option<Fate>,
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectionStats {
    /// Packets offered to the direction.
    pub sent_packets: u64,
    /// Bytes offered.
    pub sent_bytes: u64,
    /// Copies delivered intact (duplicates included).
    pub delivered_packets: u64,
    /// Bytes of the copies delivered intact.
    pub delivered_bytes: u64,
    /// Copies dropped, by cause, indexed as [`DropCause::ALL`].
    pub dropped: [u64; 6],
    /// Packets the network duplicated.
    pub duplicated: u64,
    /// Packets that arrive before a packet sent earlier (they overtake it).
    pub reordered: u64,
    /// Copies delivered corrupt.
    pub corrupted: u64,
    /// Packets that went through the queue (not dropped at it).
    pub queued_packets: u64,
    /// Sum of their waits before serialization started.
    pub queueing_delay_total: SimDuration,
    /// The longest wait.
    pub queueing_delay_max: SimDuration,
}

impl DirectionStats {
    /// Copies dropped for `cause`.
    pub fn dropped(&self, cause: DropCause) -> u64 {
        self.dropped[cause as usize]
    }

    /// Mean wait in the queue, over the packets that went through it.
    pub fn mean_queueing_delay(&self) -> SimDuration {
        match self.queued_packets {
            0 => SimDuration::ZERO,
            n => SimDuration::from_nanos(self.queueing_delay_total.as_nanos() / n),
        }
    }
}

/// One draw against `probability`, made whatever the probability, so that a stream's
/// draws depend only on how many packets it has seen.
fn chance(probability: f64, rng: &mut SimRng) -> bool {
    rng.random::<f64>() < probability
}

/// Like [`chance`], but draws nothing for probability 0: for features that are usually off.
fn maybe(probability: f64, rng: &mut SimRng) -> bool {
    probability > 0.0 && chance(probability, rng)
}

/// Each feature draws from its own stream, so that switching one on (say duplication)
/// never changes another's draws (which packets are lost).
struct Streams {
    loss: SimRng,
    jitter: SimRng,
    reorder: SimRng,
    duplicate: SimRng,
    corrupt: SimRng,
}

/// A packet accepted and not yet on the wire. Packed to 4-byte alignment, since a busy link
/// holds one for every packet it queues (`benches/README.md` has the figures).
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Waiting {
    /// When its serialization starts.
    start: SimTime,
    size: u32,
}

/// One direction of a link.
pub struct Direction<P> {
    config: DirectionConfig<P>,
    streams: Streams,
    /// Packets offered so far; the next one is number `offered + 1`.
    offered: u64,
    /// Drops made by each rule, for `max_drops`.
    rule_drops: Vec<u64>,
    /// Gilbert–Elliott state.
    in_bad_state: bool,
    /// When the wire finishes serializing the last packet accepted.
    wire_free_at: SimTime,
    /// Packets accepted and not yet on the wire.
    waiting: ChunkedFifo<Waiting>,
    waiting_bytes: u64,
    /// FIFO order: the latest arrival of a packet that was not held back.
    last_in_order: SimTime,
    /// The latest arrival of any original copy so far.
    latest_arrival: SimTime,
    stats: DirectionStats,
}

impl<P> Direction<P> {
    /// A direction named `name` (its random streams are `name/loss`, `name/jitter`, ...).
    pub fn new(
        config: DirectionConfig<P>,
        streams: &RandomStreams,
        name: &str,
    ) -> Result<Self, LinkConfigError> {
        config.validate()?;
        let stream = |feature: &str| streams.stream(&format!("{name}/{feature}"));
        Ok(Direction {
            rule_drops: vec![0; config.rules.len()],
            config,
            streams: Streams {
                loss: stream("loss"),
                jitter: stream("jitter"),
                reorder: stream("reorder"),
                duplicate: stream("duplicate"),
                corrupt: stream("corrupt"),
            },
            offered: 0,
            in_bad_state: false,
            wire_free_at: SimTime::ZERO,
            waiting: ChunkedFifo::default(),
            waiting_bytes: 0,
            last_in_order: SimTime::ZERO,
            latest_arrival: SimTime::ZERO,
            stats: DirectionStats::default(),
        })
    }

    /// The (validated) configuration.
    pub fn config(&self) -> &DirectionConfig<P> {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> &DirectionStats {
        &self.stats
    }

    /// No packet arrives sooner than this after it is sent: the lookahead a parallel
    /// simulation can use across this direction.
    pub fn min_delay(&self) -> SimDuration {
        self.config.delay
    }

    /// Serialization time of `size_bytes`, rounded up to the nanosecond.
    fn serialization(&self, size_bytes: u32) -> SimDuration {
        match self.config.bandwidth_bps {
            None => SimDuration::ZERO,
            Some(bps) => {
                let bits = u128::from(size_bytes) * 8 * 1_000_000_000;
                let nanos = bits.div_ceil(u128::from(bps));
                SimDuration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        }
    }

    /// Random loss for this packet. Always draws, whatever else befalls the packet.
    fn random_loss(&mut self) -> Option<DropCause> {
        let rng = &mut self.streams.loss;
        match self.config.loss {
            Loss::None => None,
            Loss::Bernoulli { probability } => {
                chance(probability, rng).then_some(DropCause::RandomLoss)
            }
            Loss::GilbertElliott {
                good_to_bad,
                bad_to_good,
                loss_good,
                loss_bad,
            } => {
                let rate = if self.in_bad_state {
                    loss_bad
                } else {
                    loss_good
                };
                let lost = chance(rate, rng);
                let flip = if self.in_bad_state {
                    bad_to_good
                } else {
                    good_to_bad
                };
                if chance(flip, rng) {
                    self.in_bad_state = !self.in_bad_state;
                }
                lost.then_some(DropCause::BurstLoss)
            }
        }
    }

    /// The first rule that drops packet number `self.offered`, sent at `now`.
    fn rule_drop(&mut self, payload: &P, now: SimTime) -> bool {
        for (rule, drops) in self.config.rules.iter().zip(&mut self.rule_drops) {
            let in_window = rule
                .window
                .is_none_or(|(from, until)| from <= now && now < until);
            let spent = rule.max_drops.is_some_and(|max| *drops >= max);
            if !in_window || spent {
                continue;
            }
            let matched = match &rule.matches {
                Match::Nth(n) => *n == self.offered,
                Match::Predicate(f) => f(payload),
            };
            if matched {
                *drops += 1;
                return true;
            }
        }
        false
    }

    /// Queue admission at `now`: when serialization starts, or `None` on overflow.
    fn enqueue(&mut self, size_bytes: u32, now: SimTime) -> Option<SimTime> {
        if self.config.bandwidth_bps.is_none() {
            return Some(now);
        }
        while let Some(&Waiting { start, size }) = self.waiting.front() {
            if start > now {
                break;
            }
            self.waiting.pop_front();
            self.waiting_bytes -= u64::from(size);
        }
        let start = self.wire_free_at.max(now);
        if start > now {
            let full = match self.config.queue {
                QueueLimit::Packets(limit) => self.waiting.len() >= limit as usize,
                QueueLimit::Bytes(limit) => self.waiting_bytes + u64::from(size_bytes) > limit,
                QueueLimit::Unlimited => false,
            };
            if full {
                return None;
            }
            self.waiting.push_back(Waiting {
                start,
                size: size_bytes,
            });
            self.waiting_bytes += u64::from(size_bytes);
        }
        self.wire_free_at = start.saturating_add(self.serialization(size_bytes));
        Some(start)
    }

    fn drop(&mut self, cause: DropCause) -> Fate {
        self.stats.dropped[cause as usize] += 1;
        Fate::Dropped(cause)
    }

    /// The fate of a copy due at `at` of a packet sent at `sent`.
    fn arrive(&mut self, at: SimTime, sent: SimTime, size_bytes: u32) -> Fate {
        let corrupt = maybe(self.config.corrupt_probability, &mut self.streams.corrupt);
        if let Some(lifetime) = self.config.max_lifetime
            && at.saturating_since(sent) > lifetime
        {
            return self.drop(DropCause::Expired);
        }
        if corrupt {
            self.stats.corrupted += 1;
        } else {
            self.stats.delivered_packets += 1;
            self.stats.delivered_bytes += u64::from(size_bytes);
        }
        Fate::Delivered { at, corrupt }
    }

    /// Decides the fate of `packet`, sent into this direction at `now`. Calls must come in
    /// non-decreasing `now`.
    pub fn transmit(&mut self, packet: &Packet<P>, now: SimTime) -> PacketFates {
        self.offered += 1;
        self.stats.sent_packets += 1;
        self.stats.sent_bytes += u64::from(packet.size_bytes);
        let loss = self.random_loss();
        let dropped = |cause| PacketFates {
            original: Fate::Dropped(cause),
            duplicate: None,
        };

        let Some(start) = self.enqueue(packet.size_bytes, now) else {
            self.drop(DropCause::QueueOverflow);
            return dropped(DropCause::QueueOverflow);
        };
        let wait = start.saturating_since(now);
        self.stats.queued_packets += 1;
        self.stats.queueing_delay_total = self.stats.queueing_delay_total.saturating_add(wait);
        self.stats.queueing_delay_max = self.stats.queueing_delay_max.max(wait);

        let in_black_hole = self
            .config
            .black_holes
            .iter()
            .any(|&(from, until)| from <= now && now < until);
        let cause = if in_black_hole {
            Some(DropCause::BlackHole)
        } else if !self.config.rules.is_empty() && self.rule_drop(&packet.payload, now) {
            Some(DropCause::Rule)
        } else {
            loss
        };
        if let Some(cause) = cause {
            self.drop(cause);
            return dropped(cause);
        }

        let on_wire = start.saturating_add(self.serialization(packet.size_bytes));
        let mut at = on_wire.saturating_add(self.config.delay);
        if !self.config.jitter.is_zero() {
            at = at.saturating_add(self.config.jitter.sample(&mut self.streams.jitter));
        }
        let held_back = maybe(self.config.reorder_probability, &mut self.streams.reorder);
        if held_back {
            at = at.saturating_add(self.config.reorder_delay.sample(&mut self.streams.reorder));
        } else if self.config.order == Order::Fifo {
            at = at.max(self.last_in_order);
            self.last_in_order = at;
        }
        if at < self.latest_arrival {
            self.stats.reordered += 1;
        }
        self.latest_arrival = self.latest_arrival.max(at);

        let duplicate_at = maybe(
            self.config.duplicate_probability,
            &mut self.streams.duplicate,
        )
        .then(|| {
            let extra = self
                .config
                .duplicate_delay
                .sample(&mut self.streams.duplicate);
            at.saturating_add(extra)
        });
        let original = self.arrive(at, now, packet.size_bytes);
        let duplicate = duplicate_at.map(|dup_at| {
            self.stats.duplicated += 1;
            self.arrive(dup_at, now, packet.size_bytes)
        });
        PacketFates {
            original,
            duplicate,
        }
    }
}
