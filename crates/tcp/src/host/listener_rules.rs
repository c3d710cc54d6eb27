//! How a listener sizes its queues and treats its half-open requests under load.
//!
//! RFC 9293 leaves all of this to the implementation. The `Textbook` rules are the model
//! the articles draw: each queue holds `min(backlog, cap)` entries, and every request keeps
//! its whole SYN-ACK schedule. Linux 6.18 does otherwise in four places, each measured on
//! this machine's kernel by `crates/tcp/tests/kernel/listener_load.py` (its results are in
//! `experiments/data/linux_listener_*.csv`):
//! - both queues hold `min(backlog, somaxconn) + 1`: `inet_csk_reqsk_queue_is_full` and
//!   `sk_acceptq_is_full` compare with `>`, and `max_syn_backlog` does not cap the SYN
//!   queue (backlog 100, somaxconn 4096, max_syn_backlog 16, cookies on: 101 requests);
//! - with cookies off, a SYN is dropped once fewer than a quarter of `max_syn_backlog` is
//!   left (`tcp_conn_request`, "last quarter": max_syn_backlog 16 holds 13 requests);
//! - when more than half the queue holds requests that have had a SYN-ACK timeout, each
//!   timeout lowers the request's retry limit towards 2 (`reqsk_timer_handler`);
//! - a cookie's ACK that finds the accept queue full is dropped, never reset, whatever
//!   `tcp_abort_on_overflow` says (`cookie_v4_check` returns no socket).
//!
//! `FreeBsd` keeps the textbook's queues (FreeBSD's syncache is not measured here) and
//! differs in one rule its own suite checks (freebsd-net/tcp-testsuite,
//! rcv-syn-ack-listen): a SYN-ACK reaching a listener is dropped, where RFC 9293 (and
//! Linux) answer it with a RST.
//!
//! Not modelled: Linux lets a SYN from a "proven" peer (one with a `tcp_metrics` RTT from an
//! earlier connection) past the last quarter; the model treats every peer as unproven.

/// How listeners size their queues and prune their requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerRules {
    /// Each queue holds `min(backlog, cap)`: the SYN queue `max_syn_backlog`, the accept
    /// queue `somaxconn`; requests keep their whole SYN-ACK schedule.
    Textbook,
    /// Linux 6.18 as measured (the module's documentation).
    Linux,
    /// The textbook's queues, and FreeBSD's silence to a SYN-ACK (the module's
    /// documentation).
    FreeBsd,
}

/// A listener's queues at the moment a rule is asked.
#[derive(Debug, Clone, Copy)]
pub struct QueueState {
    /// `listen()`'s backlog.
    pub backlog: u32,
    /// Requests in the SYN queue.
    pub requests: u32,
    /// Of them, those that have not had a SYN-ACK timeout (Linux's `young`).
    pub young: u32,
    /// Connections waiting in the accept queue.
    pub accept_queue: u32,
}

impl ListenerRules {
    /// Linux's `sk_max_ack_backlog`: the backlog, capped at `somaxconn` by `listen()`.
    fn max_ack_backlog(backlog: u32, somaxconn: u32) -> u32 {
        backlog.min(somaxconn)
    }

    /// Whether a new request would overflow the SYN queue.
    pub fn syn_queue_full(self, q: QueueState, somaxconn: u32, max_syn_backlog: u32) -> bool {
        match self {
            ListenerRules::Textbook | ListenerRules::FreeBsd => {
                q.requests >= q.backlog.min(max_syn_backlog)
            }
            // inet_csk_reqsk_queue_is_full: qlen > sk_max_ack_backlog.
            ListenerRules::Linux => q.requests > Self::max_ack_backlog(q.backlog, somaxconn),
        }
    }

    /// Whether the accept queue is full (a SYN is then dropped, and a final ACK dropped or
    /// reset).
    pub fn accept_queue_full(self, q: QueueState, somaxconn: u32) -> bool {
        let cap = Self::max_ack_backlog(q.backlog, somaxconn);
        match self {
            ListenerRules::Textbook | ListenerRules::FreeBsd => q.accept_queue >= cap,
            // sk_acceptq_is_full: sk_ack_backlog > sk_max_ack_backlog.
            ListenerRules::Linux => q.accept_queue > cap,
        }
    }

    /// Whether a SYN from an unproven peer is dropped with cookies off although the queue
    /// has room: Linux keeps the last quarter of `max_syn_backlog` for proven peers
    /// (`tcp_conn_request`: max_syn_backlog - qlen < max_syn_backlog >> 2).
    pub fn last_quarter_drop(self, q: QueueState, max_syn_backlog: u32) -> bool {
        match self {
            ListenerRules::Textbook | ListenerRules::FreeBsd => false,
            ListenerRules::Linux => {
                i64::from(max_syn_backlog) - i64::from(q.requests) < i64::from(max_syn_backlog >> 2)
            }
        }
    }

    /// The SYN-ACK retransmissions a request may have, asked when its timer runs:
    /// `configured` unless Linux prunes. `reqsk_timer_handler`: once the queue is more than
    /// half full (qlen x 2 > max(8, sk_max_ack_backlog)), the limit drops by one for each
    /// doubling of the young requests that qlen still reaches, down to 2.
    pub fn synack_retries(self, q: QueueState, configured: u32, somaxconn: u32) -> u32 {
        match self {
            ListenerRules::Textbook | ListenerRules::FreeBsd => configured,
            ListenerRules::Linux => {
                let mut limit = configured;
                let cap = Self::max_ack_backlog(q.backlog, somaxconn).max(8);
                if u64::from(q.requests) * 2 > u64::from(cap) {
                    let mut young = u64::from(q.young) * 2;
                    while limit > 2 && u64::from(q.requests) >= young {
                        limit -= 1;
                        young *= 2;
                    }
                }
                limit
            }
        }
    }

    /// Whether a cookie's ACK that finds the accept queue full draws a RST under
    /// `tcp_abort_on_overflow`: Linux drops it silently (measured: no RST either way).
    pub fn cookie_overflow_resets(self, abort_on_overflow: bool) -> bool {
        match self {
            ListenerRules::Textbook | ListenerRules::FreeBsd => abort_on_overflow,
            ListenerRules::Linux => false,
        }
    }

    /// Whether a SYN-ACK reaching a listener draws a RST (RFC 9293 3.10.7.2: "any
    /// acknowledgment is bad"); FreeBSD drops it.
    pub fn resets_syn_ack(self) -> bool {
        match self {
            ListenerRules::Textbook | ListenerRules::Linux => true,
            ListenerRules::FreeBsd => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(backlog: u32, requests: u32, young: u32) -> QueueState {
        QueueState {
            backlog,
            requests,
            young,
            accept_queue: 0,
        }
    }

    #[test]
    fn linux_syn_queue_holds_backlog_plus_one_capped_by_somaxconn() {
        let rules = ListenerRules::Linux;
        // experiments/data/linux_listener_queue_cap.csv: backlog 8 holds 9, backlog 100
        // under somaxconn 64 holds 65, max_syn_backlog 16 caps nothing with cookies on.
        assert!(!rules.syn_queue_full(queue(8, 8, 0), 4096, 16));
        assert!(rules.syn_queue_full(queue(8, 9, 0), 4096, 16));
        assert!(!rules.syn_queue_full(queue(100, 64, 0), 64, 16));
        assert!(rules.syn_queue_full(queue(100, 65, 0), 64, 16));
        assert!(!rules.syn_queue_full(queue(100, 100, 0), 4096, 16));
        assert!(ListenerRules::Textbook.syn_queue_full(queue(100, 16, 0), 4096, 16));
    }

    #[test]
    fn linux_last_quarter_keeps_max_syn_backlog_less_a_quarter_plus_one() {
        let rules = ListenerRules::Linux;
        // max_syn_backlog 16: 12 requests admit a 13th, 13 admit no more (measured: 13).
        assert!(!rules.last_quarter_drop(queue(300, 12, 0), 16));
        assert!(rules.last_quarter_drop(queue(300, 13, 0), 16));
        // 64: 49 requests, the scenario.
        assert!(!rules.last_quarter_drop(queue(64, 48, 0), 64));
        assert!(rules.last_quarter_drop(queue(64, 49, 0), 64));
        assert!(!ListenerRules::Textbook.last_quarter_drop(queue(64, 63, 0), 64));
    }

    #[test]
    fn linux_pruning_lowers_the_retry_limit_to_two_when_old_requests_fill_half() {
        let rules = ListenerRules::Linux;
        // Half full or less: the configured 5.
        assert_eq!(rules.synack_retries(queue(64, 32, 0), 5, 4096), 5);
        // 49 requests of which none young: 2.
        assert_eq!(rules.synack_retries(queue(64, 49, 0), 5, 4096), 2);
        // Young ones hold it up: 49 < 2 x 25.
        assert_eq!(rules.synack_retries(queue(64, 49, 25), 5, 4096), 5);
        // 49 >= 2 x 13, 49 < 4 x 13: one step down.
        assert_eq!(rules.synack_retries(queue(64, 49, 13), 5, 4096), 4);
        assert_eq!(rules.synack_retries(queue(64, 49, 7), 5, 4096), 3);
        // The threshold is max(8, backlog): 5 requests of a backlog-4 listener prune.
        assert_eq!(rules.synack_retries(queue(4, 5, 0), 5, 4096), 2);
        assert_eq!(rules.synack_retries(queue(4, 4, 0), 5, 4096), 5);
        assert_eq!(
            ListenerRules::Textbook.synack_retries(queue(64, 64, 0), 5, 4096),
            5
        );
    }
}
