//! synack's network: hosts (each with its own TCP layer and profile) and routers joined by
//! point-to-point links with static routes, applications that drive the sockets, and
//! scripted faults, all running on the kernel's scheduler.
//!
//! Status: the world, topologies, applications and faults are here; scenario files,
//! traces (CSV, pcap, sequence diagrams) and `synack run` are still to come.

pub mod app;
pub mod topology;
mod world;

pub use world::{
    AppSpec, AppSummary, Fault, LinkSpec, NodeSpec, Observer, SegmentFate, Summary, World,
    WorldError, WorldSpec,
};
