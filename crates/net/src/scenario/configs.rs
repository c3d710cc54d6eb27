//! A link's and a host's sections lowered to their configurations.

use super::schema::*;
use super::units::*;
use super::{ScenarioError, bad};
use synack_kernel::SimDuration;
use synack_link::{Delay, DirectionConfig, Loss, Order};
use synack_tcp::host::{HostConfig, Profile, SynCookies, TwReuse};
use synack_tcp::{JiffyWheel, MAX_ACK_DELAY, TimeWaitLength};

impl LinkSection {
    pub(super) fn config<P>(&self) -> Result<DirectionConfig<P>, ScenarioError> {
        let loss = probability("link.loss", self.loss)?;
        let burst = self.loss_burst_pkts;
        if !(burst == 0.0 || burst >= 1.0) {
            return Err(bad(
                "link.loss_burst_pkts",
                format!("must be 0 (independent loss) or >= 1, got {burst}"),
            ));
        }
        let loss = if loss == 0.0 {
            Loss::None
        } else if burst == 0.0 {
            Loss::Bernoulli { probability: loss }
        } else {
            if loss >= 1.0 {
                return Err(bad("link.loss", "must be below 1 with loss_burst_pkts"));
            }
            let bad_to_good = 1.0 / burst;
            Loss::GilbertElliott {
                good_to_bad: (loss * bad_to_good / (1.0 - loss)).min(1.0),
                bad_to_good,
                loss_good: 0.0,
                loss_bad: 1.0,
            }
        };
        if !(self.bandwidth_mbps.is_finite() && self.bandwidth_mbps >= 0.0) {
            return Err(bad(
                "link.bandwidth_mbps",
                format!("must be >= 0 (0 is infinite), got {}", self.bandwidth_mbps),
            ));
        }
        let jitter = millis("link.jitter_ms", self.jitter_ms)?;
        Ok(DirectionConfig {
            delay: millis("link.delay_ms", self.delay_ms)?,
            jitter: Delay::Uniform {
                min: SimDuration::ZERO,
                max: jitter,
            },
            order: if self.reorder {
                Order::Reorder
            } else {
                Order::Fifo
            },
            bandwidth_bps: (self.bandwidth_mbps > 0.0)
                .then_some((self.bandwidth_mbps * 1e6) as u64),
            queue: synack_link::QueueLimit::Packets(self.queue_packets),
            loss,
            duplicate_probability: probability("link.duplicate", self.duplicate)?,
            duplicate_delay: Delay::Exponential {
                mean: seconds("link.duplicate_delay_s", self.duplicate_delay_s)?,
            },
            corrupt_probability: probability("link.corrupt", self.corrupt)?,
            max_lifetime: Some(seconds("link.max_lifetime_s", self.max_lifetime_s)?),
            ..DirectionConfig::default()
        })
    }
}

impl TcpSection {
    pub(super) fn config(&self, section: &str) -> Result<HostConfig, ScenarioError> {
        let field = |f: &str| format!("{section}.{f}");
        let mut c = match self.profile.parse::<Profile>() {
            Ok(profile) => profile.config(),
            Err(_) => {
                return Err(bad(
                    &field("profile"),
                    format!(
                        "expected one of {}, got {:?}",
                        Profile::names().join(", "),
                        self.profile
                    ),
                ));
            }
        };
        if let Some(s) = self.time_wait_s {
            c.tcp.time_wait = TimeWaitLength::Fixed(seconds(&field("time_wait_s"), s)?);
        }
        if let Some(n) = self.syn_retries {
            c.tcp.syn_retries = n;
        }
        if let Some(n) = self.synack_retries {
            c.tcp.synack_retries = n;
        }
        if let Some(v) = &self.syncookies {
            c.syncookies = choice(
                &field("syncookies"),
                v,
                &[
                    ("off", SynCookies::Off),
                    ("when-full", SynCookies::WhenFull),
                    ("always", SynCookies::Always),
                ],
            )?;
        }
        if let Some(v) = &self.tw_reuse {
            c.tw_reuse = choice(
                &field("tw_reuse"),
                v,
                &[
                    ("off", TwReuse::Off),
                    ("on", TwReuse::On),
                    ("loopback", TwReuse::LoopbackOnly),
                ],
            )?;
        }
        if let Some(n) = self.max_syn_backlog {
            c.max_syn_backlog = n;
        }
        if let Some(n) = self.somaxconn {
            c.somaxconn = n;
        }
        if let Some([low, high]) = self.ephemeral_ports {
            c.ephemeral_ports = (low, high);
        }
        if self.max_open.is_some() {
            c.max_open = self.max_open;
        }
        if let Some(n) = self.max_time_wait {
            c.max_time_wait = n;
        }
        if let Some(t) = self.timestamps {
            c.tcp.timestamps = t;
        }
        if let Some(hz) = self.timer_wheel_hz {
            c.tcp.timer_wheel = (hz > 0).then_some(JiffyWheel { hz });
        }
        if let Some(ms) = self.delayed_ack_ms {
            let delay = millis(&field("delayed_ack_ms"), ms)?;
            if delay >= MAX_ACK_DELAY {
                return Err(bad(
                    &field("delayed_ack_ms"),
                    format!("must be at least 0 and below 500 ms (RFC 9293 3.8.6.3), got {ms}"),
                ));
            }
            c.tcp.delayed_ack = (delay > SimDuration::ZERO).then_some(delay);
        }
        c.tcp.two_way_handshake = self.two_way_handshake;
        c.validate().map_err(|e| bad(&field(e.field), e.message))?;
        Ok(c)
    }
}
