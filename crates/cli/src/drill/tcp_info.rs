//! `%{ }%` blocks: packetdrill's Python checks of TCP_INFO, as far as they are `assert`
//! comparisons of the `tcpi_*` fields the model has (and `print`, which checks nothing).

use super::features::Feature;
use super::run::{Failure, FdKind, Runner};
use synack_kernel::{SimDuration, SimTime};
use synack_tcp::host::SysctlDialect;
use synack_tcp::{DEFAULT_MSS, State};

/// A system's TCP states as `tcpi_state` numbers them: entry i is state number i + first,
/// with the name scripts use for it. The one table both directions read.
struct StateTable {
    first: i64,
    states: [(State, &'static str); 11],
}

/// Linux's (include/net/tcp_states.h), from 1.
const LINUX: StateTable = StateTable {
    first: 1,
    states: LINUX_STATES,
};

/// FreeBSD's (netinet/tcp_fsm.h, TCPS_*), from 0, by the names NPLab's packetdrill gives
/// them in its FreeBSD scripts (`TCPI_SYN_RECEIVED`).
const FREEBSD: StateTable = StateTable {
    first: 0,
    states: [
        (State::Closed, "TCPI_CLOSED"),
        (State::Listen, "TCPI_LISTEN"),
        (State::SynSent, "TCPI_SYN_SENT"),
        (State::SynReceived, "TCPI_SYN_RECEIVED"),
        (State::Established, "TCPI_ESTABLISHED"),
        (State::CloseWait, "TCPI_CLOSE_WAIT"),
        (State::FinWait1, "TCPI_FIN_WAIT_1"),
        (State::Closing, "TCPI_CLOSING"),
        (State::LastAck, "TCPI_LAST_ACK"),
        (State::FinWait2, "TCPI_FIN_WAIT_2"),
        (State::TimeWait, "TCPI_TIME_WAIT"),
    ],
};

const LINUX_STATES: [(State, &str); 11] = [
    (State::Established, "TCP_ESTABLISHED"),
    (State::SynSent, "TCP_SYN_SENT"),
    (State::SynReceived, "TCP_SYN_RECV"),
    (State::FinWait1, "TCP_FIN_WAIT1"),
    (State::FinWait2, "TCP_FIN_WAIT2"),
    (State::TimeWait, "TCP_TIME_WAIT"),
    (State::Closed, "TCP_CLOSE"),
    (State::CloseWait, "TCP_CLOSE_WAIT"),
    (State::LastAck, "TCP_LAST_ACK"),
    (State::Listen, "TCP_LISTEN"),
    (State::Closing, "TCP_CLOSING"),
];

impl StateTable {
    /// A socket's `tcpi_state`: a socket with no connection (gone, or never connected) is
    /// closed.
    fn number(&self, state: Option<State>) -> i64 {
        let state = state.unwrap_or(State::Closed);
        let i = self
            .states
            .iter()
            .position(|(s, _)| *s == state)
            .expect("every state is in the table");
        i as i64 + self.first
    }

    fn named(&self, name: &str) -> Option<i64> {
        self.states
            .iter()
            .position(|(_, n)| *n == name)
            .map(|i| i as i64 + self.first)
    }
}

impl Runner<'_> {
    /// A `%{ }%` block: `assert` lines about the connection under test, each a comparison
    /// or a chain of two (`990 <= tcpi_last_data_recv <= 1010`), and `print` lines, which
    /// packetdrill prints and which check nothing. packetdrill reads TCP_INFO at the block's
    /// time from the script's socket, so that socket must still be open.
    pub fn code(&mut self, line: usize, text: &str, t: SimTime) -> Result<(), Failure> {
        self.advance(t, false);
        self.no_unexpected(line, t)?;
        self.last = t;
        let statements: Vec<&str> = text
            .split(['\n', ';'])
            .map(|s| s.trim().trim_end_matches('\\').trim())
            .filter(|s| !s.is_empty())
            .collect();
        for statement in &statements {
            for field in statement
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("tcpi_"))
            {
                if let Some(feature) = Feature::of_tcp_info(field) {
                    return self.not_modelled(line, feature, field.to_string());
                }
            }
            if statement.contains("TCP_INFINITE_SSTHRESH") {
                return self.not_modelled(
                    line,
                    Feature::CongestionControl,
                    "TCP_INFINITE_SSTHRESH",
                );
            }
            if statement.contains("TCPI_OPT_SYN_DATA") {
                return self.not_modelled(line, Feature::FastOpen, "TCPI_OPT_SYN_DATA");
            }
        }
        self.chrono_to(t);
        let open = self
            .under_test
            .is_some_and(|id| self.fds.values().any(|fd| fd.kind == FdKind::Conn(id)));
        if !open {
            return self.fail(
                line,
                t,
                "TCP_INFO from an open socket (packetdrill reads it from the script's fd)",
                "no socket connected or accepted is open",
            );
        }
        for statement in statements {
            if statement.starts_with("print") {
                continue;
            }
            self.assertion(line, statement)?;
        }
        Ok(())
    }

    /// A `tcpi_*` field of the connection under test, a `TCP_*` state, or a number.
    fn operand(&self, word: &str) -> Option<i64> {
        let id = self.under_test?;
        let conn = self.host.connection(id);
        let ms = |d: SimDuration| (d.as_nanos() / 1_000_000) as i64;
        // A socket whose connection went to TIME-WAIT reads TCP_CLOSE, as on Linux, where a
        // timewait sock replaces it (measured on Linux 6.18: fin_wait_1_fin_ack_to_time_wait).
        Some(match word {
            "tcpi_state" => self.states().number(self.host.state(id)),
            "tcpi_retransmits" | "tcpi_backoff" => conn.map_or(0, |c| c.retransmits()) as i64,
            "tcpi_rto" => conn.map_or(0, |c| c.rto_backed_off().as_nanos() / 1000) as i64,
            "tcpi_last_data_recv" => ms(self.now.saturating_since(self.last_data_received)),
            "tcpi_busy_time" => (self.chrono.busy_ns / 1000) as i64,
            "tcpi_rcv_mss" => i64::from(self.rcv_mss),
            "tcpi_snd_mss" => i64::from(conn.map_or(DEFAULT_MSS, |c| c.send_mss())),
            "tcpi_advmss" => i64::from(conn.map_or(DEFAULT_MSS, |c| c.advertised_mss())),
            "tcpi_probes" => conn.map_or(0, |c| i64::from(c.probes_out())),
            "tcpi_rwnd_limited" => (self.chrono.window_limited_ns / 1000) as i64,
            _ => return self.states().named(word).or_else(|| word.parse().ok()),
        })
    }

    fn states(&self) -> &'static StateTable {
        match self.knobs.dialect {
            SysctlDialect::Linux => &LINUX,
            SysctlDialect::FreeBsd => &FREEBSD,
        }
    }

    fn assertion(&self, line: usize, statement: &str) -> Result<(), Failure> {
        let form = "assert A OP B [OP C], with tcpi_state, tcpi_retransmits, tcpi_backoff, \
                    tcpi_rto, tcpi_last_data_recv, tcpi_busy_time, tcpi_rwnd_limited, \
                    tcpi_rcv_mss, tcpi_snd_mss, tcpi_advmss, tcpi_probes, TCP_* states \
                    (TCPI_* under FreeBSD) and numbers";
        let bad = || self.fail(line, self.now, form, statement.to_string());
        let Some(body) = statement.strip_prefix("assert ") else {
            return bad();
        };
        if self.under_test.is_none() {
            return self.fail(
                line,
                self.now,
                "a socket under test",
                "none connected or accepted",
            );
        }
        // `assert X == Y, message`: the message is for python's traceback.
        let body = body.split(',').next().unwrap_or("");
        let words: Vec<&str> = body.split_whitespace().collect();
        if words.len() % 2 == 0 || words.len() < 3 {
            return bad();
        }
        let mut values = Vec::new();
        for word in words.iter().step_by(2) {
            match self.operand(word) {
                Some(v) => values.push(v),
                None => return bad(),
            }
        }
        for (i, op) in words.iter().skip(1).step_by(2).enumerate() {
            let (a, b) = (values[i], values[i + 1]);
            let holds = match *op {
                "==" => a == b,
                "!=" => a != b,
                "<" => a < b,
                "<=" => a <= b,
                ">" => a > b,
                ">=" => a >= b,
                _ => return bad(),
            };
            if !holds {
                let shown: Vec<String> = words
                    .iter()
                    .step_by(2)
                    .zip(&values)
                    .filter(|(w, _)| w.starts_with("tcpi_"))
                    .map(|(w, v)| format!("{w} = {v}"))
                    .collect();
                return self.fail(line, self.now, statement.to_string(), shown.join(", "));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freebsd_numbers_its_states_from_closed_at_0() {
        assert_eq!(FREEBSD.number(None), 0);
        assert_eq!(FREEBSD.number(Some(State::SynReceived)), 3);
        assert_eq!(FREEBSD.named("TCPI_ESTABLISHED"), Some(4));
        assert_eq!(FREEBSD.named("TCPI_TIME_WAIT"), Some(10));
        for (state, name) in FREEBSD.states {
            assert_eq!(FREEBSD.named(name), Some(FREEBSD.number(Some(state))));
        }
    }

    #[test]
    fn every_state_has_its_linux_number_and_name() {
        let tcp_state_number = |s| LINUX.number(s);
        let tcp_state_name = |n| LINUX.named(n);
        assert_eq!(tcp_state_number(Some(State::Established)), 1);
        assert_eq!(tcp_state_number(None), 7);
        assert_eq!(tcp_state_name("TCP_CLOSING"), Some(11));
        for (state, name) in LINUX_STATES {
            assert_eq!(tcp_state_name(name), Some(tcp_state_number(Some(state))));
            // Exhaustive: a new state fails to compile here until the table has it.
            match state {
                State::Closed
                | State::Listen
                | State::SynSent
                | State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
                | State::Closing
                | State::LastAck
                | State::TimeWait => {}
            }
        }
        let mut numbers: Vec<i64> = LINUX_STATES
            .iter()
            .map(|(s, _)| tcp_state_number(Some(*s)))
            .collect();
        numbers.dedup();
        assert_eq!(numbers, (1..=11).collect::<Vec<_>>());
    }
}
