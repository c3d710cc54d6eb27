//! `sendmsg` and `recvmsg`: their flags, iovecs and control messages, and the plain call
//! each stands for; `sendto` with MSG_FASTOPEN.

use super::{Outcome, host_errno};
use crate::drill::features::Feature;
use crate::drill::parse::Call;
use crate::drill::run::{Failure, FdKind, LOCAL, REMOTE, Runner};
use crate::drill::syscall::Syscall;
use std::sync::Arc;
use synack_kernel::SimTime;
use synack_tcp::host::ConnectOptions;

impl Runner<'_> {
    /// `sendto(fd, ..., n, MSG_FASTOPEN, ...)` on a socket not yet connected: a connect
    /// whose SYN carries the data, as a Linux client without a cookie (`tcp_fastopen=5`).
    pub(in crate::drill) fn fast_open(
        &mut self,
        call: &Call,
        fd_no: i64,
        line: usize,
        t: SimTime,
    ) -> Result<Outcome, Failure> {
        let n = self.int_arg(call, 2, line)?;
        let fd = self
            .fds
            .get(&fd_no)
            .cloned()
            .expect("checked by the caller");
        if !fd.nonblocking {
            // Linux's blocking form waits for the handshake, with or without a cookie.
            return self.not_modelled(
                line,
                Feature::FastOpen,
                "sendto MSG_FASTOPEN on a blocking socket",
            );
        }
        let config = Arc::new(self.fd_config(&fd));
        let port = self.knobs.connect_port;
        let bytes = n.max(0) as u64;
        Ok(
            match self.host.connect(
                REMOTE,
                port,
                ConnectOptions {
                    local_addr: Some(LOCAL),
                    config: Some(config),
                    syn_data: bytes,
                    ..ConnectOptions::default()
                },
                t,
            ) {
                Ok(id) => {
                    self.opened(fd_no, id, port);
                    (n, None)
                }
                Err(e) => (-1, Some(host_errno(e))),
            },
        )
    }

    /// sendmsg and recvmsg as the write and read of their iovecs' total length (their
    /// control messages are checked by `recvmsg_control`), and MSG_DONTWAIT's calls as
    /// they are: the other calls as written.
    pub(in crate::drill) fn as_plain_call(&self, call: &Call) -> Call {
        let mut plain = call.clone();
        if matches!(call.syscall, Some(Syscall::Sendmsg | Syscall::Recvmsg)) {
            let total: i64 = call
                .args
                .get(1)
                .map_or(0, |msg| iovec_lengths(msg).iter().sum());
            let plain_call = if call.syscall == Some(Syscall::Sendmsg) {
                Syscall::Send
            } else {
                Syscall::Recv
            };
            plain.syscall = Some(plain_call);
            plain.name = plain_call.name().to_string();
            plain.args = vec![
                call.args.first().cloned().unwrap_or_default(),
                "...".to_string(),
                total.to_string(),
                call.args.get(2).cloned().unwrap_or_default(),
            ];
        }
        plain
    }

    /// recvmsg's TCP_CM_INQ control message, with TCP_INQ on: what is left to read, and 1
    /// once the peer's FIN is in with nothing left (Linux's `tcp_inq_hint`).
    pub(in crate::drill) fn recvmsg_control(
        &self,
        line: usize,
        call: &Call,
        fd_no: i64,
    ) -> Result<(), Failure> {
        let Some(msg) = call
            .args
            .get(1)
            .filter(|_| call.syscall == Some(Syscall::Recvmsg))
        else {
            return Ok(());
        };
        let Some(at) = msg.find("TCP_CM_INQ") else {
            return Ok(());
        };
        let want = msg[at..].split("cmsg_data=").nth(1).and_then(|v| {
            v.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        });
        let Some(fd) = self.fds.get(&fd_no).filter(|fd| fd.inq) else {
            return self.fail(line, self.now, "TCP_CM_INQ with TCP_INQ on", "TCP_INQ off");
        };
        let FdKind::Conn(id) = fd.kind else {
            return Ok(());
        };
        let conn = self.host.connection(id);
        let left = conn.map_or(0, |c| u64::from(c.readable()));
        let fin = conn.is_none_or(|c| c.peer_closed());
        let got = if left == 0 && fin { 1 } else { left };
        if want != Some(got) {
            return self.fail(
                line,
                self.now,
                format!(
                    "TCP_CM_INQ cmsg_data={}",
                    want.map_or("?".into(), |w| w.to_string())
                ),
                format!("cmsg_data={got}"),
            );
        }
        Ok(())
    }

    /// Linux copies to a NULL buffer only when there is something to copy: then EFAULT
    /// (measured by google/packetdrill's syscall-invalid-buf-ptr.pkt on Linux 6.18).
    pub(in crate::drill) fn null_buffer_with_data(&self, call: &Call, fd_no: i64) -> bool {
        let Some(FdKind::Conn(id)) = self.fds.get(&fd_no).map(|f| f.kind) else {
            return false;
        };
        call.args.get(1).is_some_and(|b| b == "NULL")
            && self.host.connection(id).is_some_and(|c| c.readable() > 0)
    }
}

/// The flags argument of a send or receive call, split at `|`.
pub(in crate::drill) fn msg_flags(call: &Call) -> impl Iterator<Item = &str> {
    call.syscall
        .and_then(Syscall::flags_argument)
        .and_then(|i| call.args.get(i))
        .into_iter()
        .flat_map(|flags| flags.split('|').map(str::trim))
}

/// The lengths of the iovecs in a `msghdr` as packetdrill writes it:
/// `msg_iov(2)=[{..., 40}, {..., 20}]`.
pub(in crate::drill) fn iovec_lengths(msg: &str) -> Vec<i64> {
    let Some(start) = msg.find("msg_iov") else {
        return Vec::new();
    };
    let rest = &msg[start..];
    let list = rest
        .find('[')
        .and_then(|open| {
            rest[open..]
                .find(']')
                .map(|close| &rest[open + 1..open + close])
        })
        .unwrap_or("");
    list.split('}')
        .filter_map(|iov| iov.rsplit(',').next()?.trim().parse().ok())
        .collect()
}
