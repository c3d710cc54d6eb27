//! A two-way link: two independent directions.

use crate::{Direction, LinkConfig, LinkConfigError, Packet, PacketFates};
use synack_kernel::{RandomStreams, SimTime};

/// Which way a packet crosses a [`Link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Way {
    /// From endpoint A to endpoint B.
    Forward,
    /// From endpoint B to endpoint A.
    Backward,
}

/// A point-to-point link: a [`Direction`] each way, with its own state and random streams.
pub struct Link<P> {
    forward: Direction<P>,
    backward: Direction<P>,
}

impl<P: Clone> Link<P> {
    /// Builds a link named `name`; its directions' streams are `name/forward/...` and
    /// `name/backward/...`. Fails on the first invalid field of either direction.
    pub fn new(
        config: &LinkConfig<P>,
        streams: &RandomStreams,
        name: &str,
    ) -> Result<Self, LinkConfigError> {
        config.validate()?;
        Ok(Link {
            forward: Direction::new(
                config.forward().clone(),
                streams,
                &format!("{name}/forward"),
            )?,
            backward: Direction::new(
                config.backward().clone(),
                streams,
                &format!("{name}/backward"),
            )?,
        })
    }
}

impl<P> Link<P> {
    /// The direction `way`.
    pub fn direction(&self, way: Way) -> &Direction<P> {
        match way {
            Way::Forward => &self.forward,
            Way::Backward => &self.backward,
        }
    }

    /// Decides the fate of `packet` sent `way` at `now`.
    pub fn transmit(&mut self, way: Way, packet: &Packet<P>, now: SimTime) -> PacketFates {
        match way {
            Way::Forward => self.forward.transmit(packet, now),
            Way::Backward => self.backward.transmit(packet, now),
        }
    }
}
