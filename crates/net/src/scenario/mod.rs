//! Scenario files: TOML read with serde. Unknown keys are rejected, every field has a
//! default (documented in the README, next to a complete example), and every value is
//! checked when the world is built, with errors naming the field.
//!
//! Topologies name their hosts and number their addresses so a scenario can refer to them:
//! - `point-to-point`: `client0` (10.0.0.1) and `server0` (10.0.1.1) on link `link0`;
//! - `star`: `client{i}` (10.0.0.i+1) and `server{j}` (10.0.1.j+1), each on its own link
//!   (`client{i}`, `server{j}`) to the router `router`;
//! - `dumbbell`: clients on router `left`, servers on router `right`, joined by link
//!   `bottleneck`.
//!
//! With any flooder, host `attacker` (10.0.2.1) joins the server side on link `attacker`.

mod build;
mod configs;
mod schema;
mod units;

pub use schema::{
    ClientSection, FaultSection, FlooderSection, LinkSection, PeerSection, Scenario,
    ScheduleSection, ServerSection, TcpSection, Topology,
};

/// A bad scenario: the field and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioError(pub String);

fn bad(field: &str, message: impl std::fmt::Display) -> ScenarioError {
    ScenarioError(format!("{field}: {message}"))
}

/// Parses a scenario; errors name the line and the field, and say what the field takes in
/// words, not Rust types.
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    toml::from_str(text).map_err(|e| {
        let message = plain_types(&e.message().replace('\n', " "));
        let Some(span) = e.span() else {
            return ScenarioError(message);
        };
        let start = span.start.min(text.len());
        let line = text[..start].matches('\n').count() + 1;
        // An unknown field's message names it already.
        let field = field_at(text, start).filter(|_| !message.starts_with("unknown field"));
        match field {
            Some(field) => ScenarioError(format!("line {line}: {field}: {message}")),
            None => ScenarioError(format!("line {line}: {message}")),
        }
    })
}

/// The dotted name of the key on the line holding byte `at` (`link.delay_ms`), from the
/// line's `key =` and the table header above it.
fn field_at(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split_once('=')?.0.trim();
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    if !text[..line_start]
        .lines()
        .any(|l| l.trim().starts_with('['))
    {
        return Some(key.to_string());
    }
    let above = &text[..line_start];
    let header = above
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))?;
    let name = header.trim_matches(|c| c == '[' || c == ']').trim();
    // An array of tables: which element, by how many of its headers come before.
    let table = if header.starts_with("[[") {
        let index = above.lines().filter(|l| l.trim() == header).count() - 1;
        format!("{name}[{index}]")
    } else {
        name.to_string()
    };
    Some(format!("{table}.{key}"))
}

/// serde's Rust type names in words.
fn plain_types(message: &str) -> String {
    [
        ("expected f64", "expected a number"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number >= 0"),
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected a boolean", "expected true or false"),
    ]
    .iter()
    .fold(message.to_string(), |m, (rust, words)| {
        m.replace(rust, words)
    })
}
