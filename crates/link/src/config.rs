//! Link configuration. Every field documents its default next to it and is checked in one
//! place, [`DirectionConfig::validate`], when a link is built; the per-packet path never
//! re-checks it.

use crate::Delay;
use std::fmt;
use std::sync::Arc;
use synack_kernel::{SimDuration, SimTime};

/// A bad configuration value: the field's path and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LinkConfigError {
    /// Dotted path of the field, e.g. `forward.loss.probability`.
    pub field: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl LinkConfigError {
    /// An error for `field`.
    pub fn new(field: String, message: String) -> Self {
        LinkConfigError { field, message }
    }

    fn prefixed(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}.{}", self.field);
        self
    }
}

/// How a direction keeps packets in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// As a wire: jitter never lets a packet overtake the one ahead of it (it waits for it).
    #[default]
    Fifo,
    /// Jitter may reorder packets.
    Reorder,
}

/// The limit of the queue in front of the wire. It counts packets waiting, not the one being
/// serialized, as ns-3's DropTail queue in front of a `PointToPointNetDevice` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueLimit {
    /// At most this many packets wait.
    Packets(u32),
    /// At most this many bytes wait.
    Bytes(u64),
    /// No limit.
    Unlimited,
}

impl Default for QueueLimit {
    /// 100 packets: ns-3's DropTailQueue default.
    fn default() -> Self {
        QueueLimit::Packets(100)
    }
}

/// Random loss.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Loss {
    /// No random loss.
    #[default]
    None,
    /// Each packet is lost independently with `probability`.
    Bernoulli {
        /// In [0, 1].
        probability: f64,
    },
    /// Gilbert–Elliott: a two-state Markov chain, stepped once per packet. A packet is lost
    /// with the loss rate of the state it finds; the state then moves on. With `loss_bad` 1
    /// and `loss_good` 0, bursts last `1 / bad_to_good` packets on average.
    GilbertElliott {
        /// P(good -> bad) per packet, in [0, 1].
        good_to_bad: f64,
        /// P(bad -> good) per packet, in (0, 1].
        bad_to_good: f64,
        /// Loss rate in the good state, in [0, 1].
        loss_good: f64,
        /// Loss rate in the bad state, in [0, 1].
        loss_bad: f64,
    },
}

/// Which packets a [`DropRule`] matches.
#[derive(Clone)]
pub enum Match<P> {
    /// The Nth packet offered to the direction, counting from 1.
    Nth(u64),
    /// Every packet whose payload satisfies the predicate, e.g. "is a SYN-ACK".
    Predicate(Arc<dyn Fn(&P) -> bool + Send + Sync>),
}

impl<P> fmt::Debug for Match<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Match::Nth(n) => write!(f, "Nth({n})"),
            Match::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

/// A deterministic drop: packets that match, optionally only within a time window and only
/// the first few times.
#[derive(Debug, Clone)]
pub struct DropRule<P> {
    /// What to drop.
    pub matches: Match<P>,
    /// Only packets sent in `[from, until)`; `None` means always.
    pub window: Option<(SimTime, SimTime)>,
    /// Stop after dropping this many; `None` means no limit. `Some(1)` with a predicate
    /// expresses "the first SYN-ACK".
    pub max_drops: Option<u64>,
}

impl<P> DropRule<P> {
    /// Drops the `n`th packet (from 1).
    pub fn nth(n: u64) -> Self {
        DropRule {
            matches: Match::Nth(n),
            window: None,
            max_drops: None,
        }
    }

    /// Drops every packet whose payload satisfies `predicate`.
    pub fn matching(predicate: impl Fn(&P) -> bool + Send + Sync + 'static) -> Self {
        DropRule {
            matches: Match::Predicate(Arc::new(predicate)),
            window: None,
            max_drops: None,
        }
    }

    /// Only within `[from, until)`.
    pub fn within(mut self, from: SimTime, until: SimTime) -> Self {
        self.window = Some((from, until));
        self
    }

    /// At most `n` drops.
    pub fn at_most(mut self, n: u64) -> Self {
        self.max_drops = Some(n);
        self
    }
}

/// One direction of a link.
#[derive(Debug, Clone)]
pub struct DirectionConfig<P> {
    /// Propagation delay. Default 1 ms.
    pub delay: SimDuration,
    /// Added to each packet's propagation delay. Default none (`Delay::Constant(0)`).
    pub jitter: Delay,
    /// Whether jitter may reorder packets. Default [`Order::Fifo`].
    pub order: Order,
    /// Probability that a packet is held back by `reorder_delay`, letting later packets
    /// overtake it (in either order mode). Default 0, in [0, 1].
    pub reorder_probability: f64,
    /// Extra delay of a held-back packet. Default 1 ms.
    pub reorder_delay: Delay,
    /// Serialization rate in bits per second; `None` is infinite (no serialization time and
    /// no queueing). Default 10 Gbit/s.
    pub bandwidth_bps: Option<u64>,
    /// Queue in front of the wire, with drop-tail. Default 100 packets.
    pub queue: QueueLimit,
    /// Random loss. Default none.
    pub loss: Loss,
    /// Deterministic drops. Default none.
    pub rules: Vec<DropRule<P>>,
    /// Intervals `[from, until)` during which every packet sent is dropped. Default none.
    pub black_holes: Vec<(SimTime, SimTime)>,
    /// Probability that a packet is delivered twice. Default 0, in [0, 1].
    pub duplicate_probability: f64,
    /// How much later than the original the copy arrives; may be long (seconds to
    /// minutes), to model the delayed duplicate TIME-WAIT exists for. Default 0.
    pub duplicate_delay: Delay,
    /// Probability that a copy arrives corrupt (the receiver discards it as a checksum
    /// failure). Default 0, in [0, 1].
    pub corrupt_probability: f64,
    /// No copy is delivered later than this after it was sent (the IP TTL bound the MSL
    /// stands for); later copies are dropped as expired. Default 120 s, RFC 9293's MSL.
    /// `None` disables the bound.
    pub max_lifetime: Option<SimDuration>,
}

impl<P> Default for DirectionConfig<P> {
    fn default() -> Self {
        DirectionConfig {
            delay: SimDuration::from_millis(1),
            jitter: Delay::default(),
            order: Order::default(),
            reorder_probability: 0.0,
            reorder_delay: Delay::Constant(SimDuration::from_millis(1)),
            bandwidth_bps: Some(10_000_000_000),
            queue: QueueLimit::default(),
            loss: Loss::default(),
            rules: Vec::new(),
            black_holes: Vec::new(),
            duplicate_probability: 0.0,
            duplicate_delay: Delay::default(),
            corrupt_probability: 0.0,
            max_lifetime: Some(SimDuration::from_secs(120)),
        }
    }
}

fn probability(field: &str, p: f64) -> Result<(), LinkConfigError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(LinkConfigError::new(
            field.to_string(),
            format!("must be a probability in [0, 1], got {p}"),
        ))
    }
}

impl<P> DirectionConfig<P> {
    /// Checks every field; the error names the first bad one and its accepted range.
    pub fn validate(&self) -> Result<(), LinkConfigError> {
        self.jitter.validate("jitter")?;
        probability("reorder_probability", self.reorder_probability)?;
        self.reorder_delay.validate("reorder_delay")?;
        if self.bandwidth_bps == Some(0) {
            return Err(LinkConfigError::new(
                "bandwidth_bps".into(),
                "must be > 0 bits per second, or unset for infinite".into(),
            ));
        }
        match self.loss {
            Loss::None => {}
            Loss::Bernoulli { probability: p } => probability("loss.probability", p)?,
            Loss::GilbertElliott {
                good_to_bad,
                bad_to_good,
                loss_good,
                loss_bad,
            } => {
                probability("loss.good_to_bad", good_to_bad)?;
                probability("loss.bad_to_good", bad_to_good)?;
                if bad_to_good == 0.0 {
                    return Err(LinkConfigError::new(
                        "loss.bad_to_good".into(),
                        "must be in (0, 1]: at 0 the bad state never ends".into(),
                    ));
                }
                probability("loss.loss_good", loss_good)?;
                probability("loss.loss_bad", loss_bad)?;
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if let Match::Nth(0) = rule.matches {
                return Err(LinkConfigError::new(
                    format!("rules[{i}].nth"),
                    "counts packets from 1, got 0".into(),
                ));
            }
            if let Some((from, until)) = rule.window
                && until < from
            {
                return Err(LinkConfigError::new(
                    format!("rules[{i}].window"),
                    format!("must end at or after its start ({from}), got {until}"),
                ));
            }
        }
        for (i, &(from, until)) in self.black_holes.iter().enumerate() {
            if until < from {
                return Err(LinkConfigError::new(
                    format!("black_holes[{i}]"),
                    format!("must end at or after its start ({from}), got {until}"),
                ));
            }
        }
        probability("duplicate_probability", self.duplicate_probability)?;
        self.duplicate_delay.validate("duplicate_delay")?;
        probability("corrupt_probability", self.corrupt_probability)?;
        Ok(())
    }
}

/// A two-way link: one configuration for both directions, each overridable whole.
#[derive(Debug, Clone, Default)]
pub struct LinkConfig<P> {
    /// Used by each direction that has no override.
    pub both: DirectionConfig<P>,
    /// Replaces `both` for the forward direction (endpoint A to B).
    pub forward: Option<DirectionConfig<P>>,
    /// Replaces `both` for the backward direction (endpoint B to A).
    pub backward: Option<DirectionConfig<P>>,
}

impl<P> LinkConfig<P> {
    /// The same configuration both ways.
    pub fn symmetric(both: DirectionConfig<P>) -> Self {
        LinkConfig {
            both,
            forward: None,
            backward: None,
        }
    }

    /// The forward direction's effective configuration.
    pub fn forward(&self) -> &DirectionConfig<P> {
        self.forward.as_ref().unwrap_or(&self.both)
    }

    /// The backward direction's effective configuration.
    pub fn backward(&self) -> &DirectionConfig<P> {
        self.backward.as_ref().unwrap_or(&self.both)
    }

    /// Checks both effective directions.
    pub fn validate(&self) -> Result<(), LinkConfigError> {
        let name = |o: &Option<_>, dir| if o.is_some() { dir } else { "both" };
        self.forward()
            .validate()
            .map_err(|e| e.prefixed(name(&self.forward, "forward")))?;
        self.backward()
            .validate()
            .map_err(|e| e.prefixed(name(&self.backward, "backward")))
    }
}
