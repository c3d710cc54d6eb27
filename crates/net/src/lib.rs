//! synack's network: hosts (each with its own TCP layer and profile) and routers joined by
//! point-to-point links with static routes, applications that drive the sockets, and
//! scripted faults, all running on the kernel's scheduler.
//!
//! Traces stream to disk: segment fates and transitions as CSV, pcap per link, and SVG
//! sequence diagrams of short point-to-point runs.

pub mod app;
pub mod diagram;
pub mod lifecycle;
pub mod pcap;
pub mod scenario;
pub mod topology;
pub mod trace;
mod world;

pub use world::{
    AppSpec, AppSummary, Fault, LinkSpec, NodeSpec, Observer, SegmentFate, Summary, World,
    WorldError, WorldSpec,
};
