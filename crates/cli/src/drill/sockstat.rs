//! FreeBSD's `sockstat` and `tcpdrop`, as the FreeBSD suite's scripts use them to look at
//! and clear the stack's sockets:
//!
//! - `sockstat [-4] [-N] [-P tcp] [-s] [-p PORT]`, piped through `grep [-c] PATTERN`
//!   stages: the command succeeds as the shell's pipeline does, when the last `grep`
//!   matches a line. The listing has a line per socket, as sockstat prints it: `USER
//!   COMMAND PID FD PROTO LOCAL FOREIGN [STATE]`. Sockets the script holds a descriptor for
//!   belong to `packetdrill` (sockstat cuts the name to `packetdril`); the others (requests
//!   in a listener's queue, which FreeBSD's syncache lists as SYN_RCVD, connections not yet
//!   accepted or already closed, TIME-WAIT entries) to `??`. A descriptor whose connection
//!   has gone shows CLOSED, or TIME_WAIT while its TIME-WAIT entry lasts.
//! - `tcpdrop -s STATE`: drops every connection in STATE, without a segment.

use super::run::{FdKind, Runner};
use synack_kernel::SimTime;
use synack_tcp::{FourTuple, State};

/// An address and port; `None` is `*:*`.
type End = Option<(u32, u16)>;

/// One socket as sockstat lists it.
struct Listed {
    owned: bool,
    local: End,
    foreign: End,
    state: &'static str,
}

/// FreeBSD's name of a state (`tcpstates[]`, netinet/tcp_fsm.h).
fn state_name(state: State) -> &'static str {
    match state {
        State::Closed => "CLOSED",
        State::Listen => "LISTEN",
        State::SynSent => "SYN_SENT",
        State::SynReceived => "SYN_RCVD",
        State::Established => "ESTABLISHED",
        State::CloseWait => "CLOSE_WAIT",
        State::FinWait1 => "FIN_WAIT_1",
        State::Closing => "CLOSING",
        State::LastAck => "LAST_ACK",
        State::FinWait2 => "FIN_WAIT_2",
        State::TimeWait => "TIME_WAIT",
    }
}

fn ends(t: &FourTuple) -> (End, End) {
    (
        Some((t.local_addr, t.local_port)),
        Some((t.remote_addr, t.remote_port)),
    )
}

fn address(end: End) -> String {
    match end {
        Some((addr, port)) => {
            let [a, b, c, d] = addr.to_be_bytes();
            format!("{a}.{b}.{c}.{d}:{port}")
        }
        None => "*:*".to_string(),
    }
}

impl Runner<'_> {
    /// Runs `text` if it is a sockstat or tcpdrop command: `None` if it is neither,
    /// else whether it succeeded (an error names what is not supported).
    pub fn socket_command(&mut self, text: &str, t: SimTime) -> Option<Result<bool, String>> {
        let stages: Vec<Vec<&str>> = text
            .split('|')
            .map(|s| s.split_whitespace().collect())
            .collect();
        match stages.first()?.first().copied()? {
            "sockstat" => Some(self.sockstat(&stages)),
            "tcpdrop" if stages.len() == 1 => Some(self.tcpdrop(&stages[0][1..], t)),
            _ => None,
        }
    }

    fn sockstat(&self, stages: &[Vec<&str>]) -> Result<bool, String> {
        let (mut ports, mut with_state) = (Vec::new(), false);
        let mut args = stages[0][1..].iter();
        while let Some(&arg) = args.next() {
            match arg {
                "-4" | "-N" => {}
                "-s" => with_state = true,
                "-P" if args.next() == Some(&"tcp") => {}
                "-p" => {
                    let list = args.next().ok_or("sockstat -p: expected PORT[,PORT...]")?;
                    for port in list.split(',') {
                        ports.push(
                            port.parse::<u16>().map_err(|_| {
                                format!("sockstat -p {list}: expected PORT[,PORT...]")
                            })?,
                        );
                    }
                }
                other => {
                    return Err(format!(
                        "sockstat {other}: expected -4, -N, -s, -P tcp or -p PORT"
                    ));
                }
            }
        }
        let mut lines: Vec<String> = self
            .listing()
            .into_iter()
            .filter(|s| {
                ports.is_empty()
                    || [s.local, s.foreign]
                        .iter()
                        .flatten()
                        .any(|(_, port)| ports.contains(port))
            })
            .map(|s| {
                let owner = if s.owned {
                    "root     packetdril 1000  3"
                } else {
                    "??       ??         ??    ??"
                };
                let state = if with_state { s.state } else { "" };
                format!(
                    "{owner} tcp4  {:<21} {:<21} {state}",
                    address(s.local),
                    address(s.foreign)
                )
            })
            .collect();
        let mut matched = true;
        for stage in &stages[1..] {
            let (count, pattern) = match stage.as_slice() {
                ["grep", "-c", pattern] => (true, *pattern),
                ["grep", pattern] => (false, *pattern),
                _ => {
                    return Err(format!(
                        "`{}` after sockstat: expected grep [-c] PATTERN",
                        stage.join(" ")
                    ));
                }
            };
            let kept: Vec<String> = lines.into_iter().filter(|l| l.contains(pattern)).collect();
            matched = !kept.is_empty();
            lines = if count {
                vec![kept.len().to_string()]
            } else {
                kept
            };
        }
        Ok(matched)
    }

    /// Every TCP socket, as sockstat would list it.
    fn listing(&self) -> Vec<Listed> {
        let mut out = Vec::new();
        let mut held_by_fd = Vec::new();
        let mut time_wait_by_fd = Vec::new();
        for fd in self.fds.values() {
            let (local, foreign, state) = match (fd.kind, fd.tuple) {
                (FdKind::Listener, _) => (Some((0, self.knobs.bind_port)), None, "LISTEN"),
                (FdKind::Conn(id), Some(tuple)) => {
                    let (local, foreign) = ends(&tuple);
                    let state = match self.host.state(id) {
                        Some(state) => {
                            held_by_fd.push(id);
                            state_name(state)
                        }
                        None if self.host.time_wait_tuples().any(|t| *t == tuple) => {
                            time_wait_by_fd.push(tuple);
                            "TIME_WAIT"
                        }
                        None => "CLOSED",
                    };
                    (local, foreign, state)
                }
                _ => (None, None, "CLOSED"),
            };
            out.push(Listed {
                owned: true,
                local,
                foreign,
                state,
            });
        }
        for (id, tuple, state) in self.host.sockets() {
            if !held_by_fd.contains(&id) {
                let (local, foreign) = ends(&tuple);
                out.push(Listed {
                    owned: false,
                    local,
                    foreign,
                    state: state_name(state),
                });
            }
        }
        for tuple in self.host.time_wait_tuples() {
            if !time_wait_by_fd.contains(tuple) {
                let (local, foreign) = ends(tuple);
                out.push(Listed {
                    owned: false,
                    local,
                    foreign,
                    state: "TIME_WAIT",
                });
            }
        }
        out
    }

    fn tcpdrop(&mut self, args: &[&str], t: SimTime) -> Result<bool, String> {
        let ["-s", state] = args else {
            return Err(format!(
                "tcpdrop {}: expected tcpdrop -s STATE",
                args.join(" ")
            ));
        };
        if *state == "TIME_WAIT" {
            let tuples: Vec<FourTuple> = self.host.time_wait_tuples().copied().collect();
            for tuple in &tuples {
                self.host.drop_time_wait(tuple, t);
            }
            return Ok(true);
        }
        let doomed: Vec<_> = self
            .host
            .sockets()
            .filter(|(_, _, s)| state_name(*s) == *state)
            .map(|(id, _, _)| id)
            .collect();
        for id in doomed {
            self.host.abort(id, t);
        }
        Ok(true)
    }
}
