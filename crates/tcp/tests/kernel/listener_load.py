#!/usr/bin/env python3
"""A real Linux listener under load, measured: the oracle for the host's listener rules
(crates/tcp/src/host/listeners.rs) and for the kernel series of the `syn_flood` experiment.

The listener is this machine's kernel, in a network namespace of its own. Everything the
harness sends it goes through a TUN device (`synack0`): spoofed SYNs from 10.0.0.0/8 at a
chosen rate, and the peer's side of legitimate handshakes from 192.168.77.0/24. What the
kernel answers comes back out of the same device, where a packet socket times it (the
kernel's SO_TIMESTAMPNS). Nothing leaves the namespace: the script refuses to run if the
namespace has any device but `lo` before it adds its own, and TUN has no wire.

While it runs it reads the listener as a user would: `ss -Hltn` (the accept queue, Recv-Q),
`ss -Htn state syn-recv` (requests) and `nstat -az` (ListenOverflows, ListenDrops,
SyncookiesSent, SyncookiesRecv, TCPReqQFullDrop, TCPReqQFullDoCookies: a fresh namespace
starts them at 0).

Python with raw TUN I/O, as half_open_lifetime.py, rather than C: the loads the rules need
(at most a few thousand packets a second) are well within its reach, it needs no build
step, and it reads as the experiment it is. Every loop is bounded in time and in packets.

Run as root: `unshare -n python3 listener_load.py SCENARIO [--csv FILE] [...]`.
Scenarios (each prints what it measured and exits 1 if a check fails):
  cap        the SYN queue's size for backlog x somaxconn x max_syn_backlog, cookies off
             and when-full (requests held, SYN-ACKs, cookies)
  pruning    a sustained flood, cookies off: SYN-ACKs each request gets, and requests
             admitted per second, against the flood's rate (--rates, --seconds)
  cookies    the cookie SYN-ACK's options under `always`, and a cookie accepted after
             the queue overflowed under `when-full`
  overflow   the accept queue overflowing, tcp_abort_on_overflow 0 and 1, seen by client
  flood      syn_flood's scenario: a Poisson flood (ramped in over a lifetime) and
             legitimate clients at Poisson times; first-try success, the SYN queue and the
             requests' lifetime (--rate, --backlog, --cookies, --clients, --seed);
             syn_flood_series.sh runs the experiment's points
  capacity   server_capacity's knee, scaled: N clients within 1 s (--rates N1,N2,...) at a
             server accepting --accepts a second with --backlog
  check      the short rule checks CI runs (cap, last quarter, cookies, overflow, pruning)
`--csv FILE` appends the scenario's rows to FILE (writing the header if it is new).
"""
import argparse
import fcntl
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time
import traceback

from ipv4 import checksum

LOCAL, PORT = "192.168.77.1", 80
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
SO_TIMESTAMPNS, SO_RCVBUFFORCE, PACKET_OUTGOING = 35, 33, 4
SOL_PACKET, PACKET_STATISTICS = 263, 6
SYN, RST, ACK, FIN = 0x02, 0x04, 0x10, 0x01
COUNTERS = ["ListenOverflows", "ListenDrops", "SyncookiesSent", "SyncookiesRecv",
            "SyncookiesFailed", "TCPReqQFullDrop", "TCPReqQFullDoCookies"]
MAX_PACKETS = 2_000_000  # every run stops by itself past this many packets seen




def options_bytes(kind, tsval=0, tsecr=0):
    """A SYN's options: `mss` alone, or Linux's full set (mss, sackOK, TS, wscale 7)."""
    if kind == "mss":
        return struct.pack("!BBH", 2, 4, 1460)
    if kind == "full":
        return (struct.pack("!BBH", 2, 4, 1460) + bytes([4, 2, 8, 10])
                + struct.pack("!II", tsval, tsecr) + bytes([1, 3, 3, 7]))
    if kind == "ts":
        return bytes([1, 1, 8, 10]) + struct.pack("!II", tsval, tsecr)
    return b""


def packet(src, sport, seq, ack, flags, options=b"", dst=LOCAL, dport=PORT, window=65535,
           data=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      (5 + len(options) // 4) << 4, flags, window, 0, 0) + options + data
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = tcp[:16] + struct.pack("!H", checksum(s + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, s, d)
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + tcp


def parse_options(raw):
    """The options as packetdrill writes them: 'mss 1460,sackOK,TS val 1 ecr 0,...'."""
    out, i, ts = [], 0, None
    while i < len(raw):
        kind = raw[i]
        if kind == 0:
            out.append("eol")
            i += 1
            continue
        if kind == 1:
            out.append("nop")
            i += 1
            continue
        length = raw[i + 1] if i + 1 < len(raw) else 2
        body = raw[i + 2:i + length]
        if kind == 2:
            out.append(f"mss {struct.unpack('!H', body)[0]}")
        elif kind == 3:
            out.append(f"wscale {body[0]}")
        elif kind == 4:
            out.append("sackOK")
        elif kind == 8:
            ts = struct.unpack("!II", body)
            out.append("TS")
        else:
            out.append(f"opt{kind}")
        i += max(length, 2)
    return ",".join(out), ts


class Seen:
    """A TCP packet the packet socket saw, kernel-timestamped."""
    __slots__ = ("at", "out", "src", "sport", "dst", "dport", "seq", "ack", "flags", "win",
                 "options", "ts", "payload")

    def __init__(self, at, out, ip):
        header = (ip[0] & 0xF) * 4
        tcp = ip[header:]
        self.at, self.out = at, out
        self.src, self.dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        self.sport, self.dport, self.seq, self.ack = struct.unpack("!HHII", tcp[:12])
        self.flags, self.win = tcp[13], struct.unpack("!H", tcp[14:16])[0]
        self.options, self.ts = parse_options(tcp[20:(tcp[12] >> 4) * 4])
        self.payload = struct.unpack("!H", ip[2:4])[0] - header - (tcp[12] >> 4) * 4


class Lab:
    """One namespace: the TUN device, the packet socket, the listener, the counters."""

    def __init__(self, sysctls):
        # /sys/class/net shows the namespace sysfs was mounted in; netlink shows this one.
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                               check=True).stdout.splitlines()
        devices = sorted(line.split(":")[1].strip().split("@")[0] for line in links)
        if devices != ["lo"]:
            sys.exit(f"listener_load: run in a fresh network namespace (unshare -n); this one has {devices}")
        self.tun = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.tun, TUNSETIFF, struct.pack("16sH", b"synack0", IFF_TUN | IFF_NO_PI))
        for command in (["ip", "link", "set", "lo", "up"],
                        ["ip", "link", "set", "synack0", "txqueuelen", "10000"],
                        ["ip", "addr", "add", f"{LOCAL}/24", "dev", "synack0"],
                        ["ip", "link", "set", "synack0", "up"],
                        ["ip", "route", "add", "10.0.0.0/8", "dev", "synack0"]):
            subprocess.run(command, check=True)
        self.sysctl({"net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.synack0.rp_filter": 0,
                     **sysctls})
        self.sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self.sniffer.bind(("synack0", 0))
        self.sniffer.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # As root, past rmem_max: a flood's packets must not overflow the sniffer.
        self.sniffer.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 26)
        self.sniffer.setblocking(False)
        self.seen = 0
        self.listener = None

    @staticmethod
    def sysctl(values):
        for name, value in values.items():
            subprocess.run(["sysctl", "-q", "-w", f"{name}={value}"], check=True)

    def listen(self, backlog, port=PORT):
        if self.listener:
            self.listener.close()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOCAL, port))
        self.listener.listen(backlog)
        self.listener.setblocking(False)

    def send(self, data):
        os.write(self.tun, data)

    def pump(self, wait_s, handle=None):
        """Reads what crossed the device for up to `wait_s`; returns the packets seen."""
        got, deadline = [], time.monotonic() + wait_s
        while True:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([self.sniffer, self.tun], [], [], max(left, 0))
            if self.tun in readable:
                while True:
                    try:
                        os.read(self.tun, 4096)
                    except BlockingIOError:
                        break
            while True:
                try:
                    data, ancillary, _, address = self.sniffer.recvmsg(4096, socket.CMSG_SPACE(16))
                except BlockingIOError:
                    break
                self.seen += 1
                if self.seen > MAX_PACKETS:
                    sys.exit("listener_load: past MAX_PACKETS, stopping")
                stamps = [struct.unpack("qq", d[:16]) for level, kind, d in ancillary
                          if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
                if not stamps or data[0] >> 4 != 4 or data[9] != 6:
                    continue
                seen = Seen(stamps[0][0] + stamps[0][1] / 1e9, address[2] == PACKET_OUTGOING, data)
                got.append(seen)
                if handle:
                    handle(seen)
            if left <= 0:
                return got

    def sniffer_drops(self):
        """Packets the sniffer lost since the last call (PACKET_STATISTICS)."""
        _, drops = struct.unpack("II", self.sniffer.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        return drops

    def counters_checked(self):
        """The counters, exiting if the sniffer lost a packet: the run would undercount."""
        drops = self.sniffer_drops()
        if drops:
            sys.exit(f"listener_load: the packet socket dropped {drops} packets; the run is void")
        return self.counters()

    def accept_all(self, reset=True):
        """Accepts every queued connection and closes it (with a RST: no FIN exchange)."""
        n = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return n
            if reset:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            n += 1

    @staticmethod
    def requests(port=PORT):
        out = subprocess.run(["ss", "-Htn", "state", "syn-recv", f"sport = :{port}"],
                             capture_output=True, text=True, check=True).stdout
        return sum(1 for line in out.splitlines() if line.strip())

    @staticmethod
    def accept_queue(port=PORT):
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"],
                             capture_output=True, text=True, check=True).stdout.split()
        return int(out[1]) if len(out) > 1 else 0

    @staticmethod
    def counters():
        out = subprocess.run(["nstat", "-az"], capture_output=True, text=True, check=True).stdout
        values = {}
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0].startswith("TcpExt"):
                values[fields[0][6:]] = int(fields[1])
        return {name: values.get(name, 0) for name in COUNTERS}


def new_namespace():
    """unshare(CLONE_NEWNET) for this process (os.unshare needs Python 3.12)."""
    import ctypes
    if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:
        sys.exit(f"listener_load: unshare: {os.strerror(ctypes.get_errno())}")


def spoofed(rng):
    """A forged source: an address in 10.0.0.0/8 and a port, never repeated in practice."""
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}", rng.randrange(1024, 65535)


def nearest_rank(sorted_values, q):
    """The model's percentile (synack_net::app::percentile), to 0.1 ms; "" of nothing."""
    if not sorted_values:
        return ""
    return round(sorted_values[min(round(q * (len(sorted_values) - 1)), len(sorted_values) - 1)], 4)


def write_csv(path, header, rows):
    if not path:
        return
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a") as out:
        if new:
            out.write(",".join(header) + "\n")
        for row in rows:
            out.write(",".join(str(v) for v in row) + "\n")


def burst(lab, rng, port, backlog, somaxconn, msb, cookies, syns):
    """`syns` spoofed SYNs at once into a fresh listener on `port` under these settings:
    the requests it holds, the SYN-ACKs it sent and the counters' changes."""
    lab.sysctl({"net.core.somaxconn": somaxconn, "net.ipv4.tcp_max_syn_backlog": msb,
                "net.ipv4.tcp_syncookies": cookies})
    before = lab.counters()
    lab.listen(backlog, port)
    for _ in range(syns):
        src, sport = spoofed(rng)
        lab.send(packet(src, sport, rng.getrandbits(32), 0, SYN, options_bytes("mss"), dport=port))
    got = lab.pump(0.4)
    synacks = sum(1 for p in got if p.out and p.flags & (SYN | ACK) == SYN | ACK)
    held = lab.requests(port)
    after = lab.counters()
    lab.listener.close()
    lab.listener = None
    lab.pump(0.05)
    return held, synacks, {k: after[k] - before[k] for k in after}


def cap(args, rng):
    """The SYN queue's size: a burst of spoofed SYNs into a fresh listener per combination."""
    header = ["backlog", "somaxconn", "max_syn_backlog", "syncookies", "syns", "requests",
              "synacks", "cookies_sent", "reqq_full_drop", "reqq_full_do_cookies", "listen_drops"]
    rows = []
    combos = [(b, s, m, c) for c in (0, 1) for m in (16, 1024) for s in (64, 4096)
              for b in (1, 8, 100, 300)]
    lab = Lab({})
    syns = 400
    for port, (backlog, somaxconn, msb, cookies) in enumerate(combos, start=1000):
        held, synacks, delta = burst(lab, rng, port, backlog, somaxconn, msb, cookies, syns)
        rows.append([backlog, somaxconn, msb, cookies, syns, held, synacks,
                     delta["SyncookiesSent"], delta["TCPReqQFullDrop"],
                     delta["TCPReqQFullDoCookies"], delta["ListenDrops"]])
        print(f"backlog {backlog:4} somaxconn {somaxconn:4} max_syn_backlog {msb:4} cookies {cookies}: "
              f"{held:3} requests held, {synacks:3} SYN-ACKs, {delta['SyncookiesSent']:3} cookies, "
              f"ListenDrops {delta['ListenDrops']}")
    write_csv(args.csv, header, rows)
    return []


def synack_counts(seen, end, schedule_s, slack_s=0.3):
    """For each request (by peer), its SYN-ACK times; and of those whose fate is known by
    `end` (their next SYN-ACK was due and did not come), how many SYN-ACKs each got."""
    times = {}
    for p in seen:
        if p.out and p.flags & (SYN | ACK) == SYN | ACK:
            times.setdefault((p.dst, p.dport), []).append(p.at)
    known = {}
    for peer, at in times.items():
        k = len(at)
        next_due = at[0] + sum(schedule_s[:k]) if k <= len(schedule_s) else at[0]
        if k > len(schedule_s) or next_due + slack_s < end:
            known[peer] = k
    return times, known


# SYN-ACK timer waits, tcp_synack_retries 5 (doubling from 1 s; the wheel adds up to 0.26 s).
SYNACK_WAITS_S = [1, 2, 4, 8, 16, 32]


def pruning(args, rng):
    """A sustained spoofed flood, cookies off, backlog 64 and max_syn_backlog 64 (the issue's
    scenario): requests held, admitted per second, and SYN-ACKs each request gets."""
    header = ["flood_per_s", "backlog", "max_syn_backlog", "seconds", "requests_mean",
              "requests_max", "admitted_per_s", "lifetime_s", "requests_known",
              "synacks_1", "synacks_2", "synacks_3", "synacks_4", "synacks_5", "synacks_6",
              "synacks_mean", "listen_drops_per_s"]
    rates = [float(r) for r in args.rates.split(",")]
    rows, failures = [], []
    backlog = msb = 64
    for rate in rates:
        lab_rows = run_pruning(rate, backlog, msb, args.seconds, rng)
        rows.append(lab_rows)
        print(f"flood {rate:6.1f}/s: {lab_rows[4]:5.1f} requests held on average (max {lab_rows[5]}), "
              f"{lab_rows[6]:6.2f} admitted/s, lifetime {lab_rows[7]:5.2f} s, SYN-ACKs per request "
              f"{lab_rows[9:15]} (mean {lab_rows[15]:.2f} of {lab_rows[8]} known)")
    write_csv(args.csv, header, rows)
    return failures


def run_pruning(rate, backlog, msb, seconds, rng, steady_from=None):
    """One flood in a namespace of its own (each rate starts from an empty queue); its
    figures are of the requests admitted from `steady_from` s (half the run by default)."""
    steady_from = seconds / 2 if steady_from is None else steady_from
    def work():
        lab = Lab({"net.ipv4.tcp_syncookies": 0, "net.ipv4.tcp_max_syn_backlog": msb,
                   "net.core.somaxconn": 4096})
        lab.listen(backlog)
        start = time.monotonic()
        next_syn, samples, seen = start, [], []
        next_sample = start + steady_from
        wall0 = time.time()
        while time.monotonic() - start < seconds:
            now = time.monotonic()
            while next_syn <= now:
                src, sport = spoofed(rng)
                lab.send(packet(src, sport, rng.getrandbits(32), 0, SYN, options_bytes("mss")))
                next_syn += rng.expovariate(rate)
            seen += lab.pump(min(0.01, max(0.0, next_syn - time.monotonic())))
            if time.monotonic() >= next_sample:
                samples.append(lab.requests())
                next_sample += 0.5
        end = time.time()
        counters = lab.counters_checked()
        half = wall0 + steady_from
        times, known = synack_counts(seen, end, SYNACK_WAITS_S)
        admitted = sum(1 for at in times.values() if at[0] >= half)
        steady = {peer: k for peer, k in known.items() if times[peer][0] >= half}
        histogram = [sum(1 for k in steady.values() if k == n) for n in range(1, 7)]
        mean_q = sum(samples) / max(len(samples), 1)
        per_s = admitted / (seconds - steady_from)
        row = [rate, backlog, msb, seconds, round(mean_q, 2), max(samples, default=0),
               round(per_s, 3), round(mean_q / per_s, 3) if per_s else "",
               len(steady), *histogram,
               round(sum(steady.values()) / len(steady), 3) if steady else "",
               round(counters["ListenDrops"] / seconds, 2)]
        return row
    return in_namespace(work)


pipe_r, pipe_w = os.pipe()


def in_namespace(work):
    """Runs `work` in a child process in a network namespace of its own, and returns what it
    returned (a value `repr` writes and `eval` reads back); exits if it failed (the child
    printed why)."""
    child = os.fork()
    if child == 0:
        status = 1
        try:
            new_namespace()
            os.write(pipe_w, (repr(work()) + "\n").encode())
            status = 0
        except SystemExit as stop:
            print(stop, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    if status != 0:
        sys.exit("listener_load: the run in its namespace failed")
    return eval(os.read(pipe_r, 1 << 16).decode())


def cookies(args, rng):
    """Cookie SYN-ACKs under `always` (their options, with and without timestamps), and a
    cookie accepted after the SYN queue overflowed under `when-full`."""
    header = ["syncookies", "syn_options", "synack_options", "synack_window", "synacks_in_2s", "accepted", "syncookies_sent", "syncookies_recv"]
    rows, failures = [], []
    lab = Lab({"net.core.somaxconn": 4096, "net.ipv4.tcp_max_syn_backlog": 1024})
    for mode, kind in ((2, "mss"), (2, "full"), (1, "mss"), (1, "full")):
        lab.sysctl({"net.ipv4.tcp_syncookies": mode})
        lab.listen(4, PORT + 10 * mode + (kind == "full"))
        port = PORT + 10 * mode + (kind == "full")
        if mode == 1:  # fill the SYN queue (backlog 4 holds 5) with spoofed requests
            for _ in range(5):
                src, sport = spoofed(rng)
                lab.send(packet(src, sport, rng.getrandbits(32), 0, SYN, options_bytes("mss"), dport=port))
            lab.pump(0.2)
        before = lab.counters()
        client, cport, isn = "192.168.77.9", 40000 + port, 1000
        lab.send(packet(client, cport, isn, 0, SYN, options_bytes(kind, tsval=100), dport=port))
        got = [p for p in lab.pump(2.0) if p.out and p.dport == cport and p.flags & (SYN | ACK) == SYN | ACK]
        if not got:
            failures.append(f"syncookies {mode}, {kind} SYN: no SYN-ACK")
            continue
        synack = got[0]
        ack_options = options_bytes("ts", tsval=101, tsecr=synack.ts[0]) if synack.ts else b""
        lab.send(packet(client, cport, isn + 1, synack.seq + 1, ACK, ack_options, dport=port))
        lab.pump(0.2)
        accepted = lab.accept_all()
        after = lab.counters()
        rows.append([mode, kind.replace("full", "mss+sackOK+TS+wscale 7"), f'"{synack.options}"',
                     synack.win, len(got), accepted,
                     after["SyncookiesSent"] - before["SyncookiesSent"],
                     after["SyncookiesRecv"] - before["SyncookiesRecv"]])
        print(f"syncookies {mode}, SYN with {kind}: SYN-ACK <{synack.options}> win {synack.win}, "
              f"{len(got)} SYN-ACK(s) in 2 s, accepted {accepted}, cookies sent "
              f"{rows[-1][6]}, received {rows[-1][7]}")
        if accepted != 1:
            failures.append(f"syncookies {mode}, {kind} SYN: the cookie's ACK was not accepted")
    write_csv(args.csv, header, rows)
    return failures


# When each of the five clients of `overflow` sends its SYN and its final ACK, s: in
# `staggered`, requests 4 and 5 are in the SYN queue (3 held) when the accept queue fills;
# in `burst`, all five SYNs come at once, so 4 and 5 find the SYN queue full and get
# cookies (tcp_syncookies 1), whose ACKs then find the accept queue full.
PATTERNS = {"staggered": ([0, 0, 0, 0.1, 0.1], [0.05, 0.05, 0.2, 0.2, 0.2]),
            "burst": ([0] * 5, [0] * 5)}


def overflow(args, rng, patterns=None):
    """Five clients complete handshakes at a listener with backlog 2 that does not accept
    until 2.5 s; each ACKs every SYN-ACK, as a Linux client in ESTABLISHED does.
    tcp_abort_on_overflow 0 and 1: which final ACKs the accept queue takes, and what the
    others see."""
    header = ["pattern", "abort_on_overflow", "client", "synack_times_s", "cookie", "rst_at_s",
              "accepted_at_s"]
    rows = []
    for pattern, abort in ((p, a) for p in (patterns or PATTERNS) for a in (0, 1)):
        syn_at, ack_at = PATTERNS[pattern]
        def work():
            lab = Lab({"net.ipv4.tcp_abort_on_overflow": abort, "net.core.somaxconn": 4096,
                       "net.ipv4.tcp_syncookies": 1})
            lab.listen(2)
            clients = {f"192.168.77.{20 + i}": {"synacks": [], "rst": None, "port": 41000 + i,
                                                 "syn": syn_at[i], "ack": ack_at[i], "acked": 0,
                                                 "sent_syn": False}
                       for i in range(5)}
            start = time.time()
            before = lab.counters()

            def handle(p):
                c = clients.get(p.dst)
                if not c or not p.out:
                    return
                if p.flags & RST:
                    c["rst"] = c["rst"] or round(p.at - start, 3)
                elif p.flags & (SYN | ACK) == SYN | ACK:
                    c["synacks"].append((round(p.at - start, 3), p.seq))

            order = list(clients.values())

            def gated(i, kind):
                """The pattern's order, kept even when the loop runs late (a loaded
                machine): in `staggered`, SYNs 4 and 5 wait until the accept queue holds
                clients 1 and 2, and the last ACKs until SYNs 4 and 5 are answered."""
                if pattern != "staggered":
                    return False
                if kind == "syn" and i >= 3:
                    return not (order[0]["acked"] and order[1]["acked"]) or lab.accept_queue() < 2
                if kind == "ack" and i >= 2:
                    return not (order[3]["synacks"] and order[4]["synacks"])
                return False

            def drive(until):
                while time.time() - start < until:
                    now = time.time() - start
                    for i, (addr, c) in enumerate(clients.items()):
                        if not c["sent_syn"] and now >= c["syn"] and not gated(i, "syn"):
                            lab.send(packet(addr, c["port"], 1000, 0, SYN, options_bytes("mss")))
                            c["sent_syn"] = True
                        while c["acked"] < len(c["synacks"]) and now >= c["ack"] and \
                                not gated(i, "ack"):
                            seq = c["synacks"][c["acked"]][1]
                            lab.send(packet(addr, c["port"], 1001, seq + 1, ACK))
                            c["acked"] += 1
                    lab.pump(0.005, handle)

            queue_log, accepts = [], []
            for at in (2.5, 7.5):
                drive(at)
                queue_log.append(lab.accept_queue())
                while True:
                    try:
                        conn, peer = lab.listener.accept()
                    except BlockingIOError:
                        break
                    accepts.append((peer[0], at))
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
            after = lab.counters_checked()
            counters = {k: after[k] - before[k] for k in after}
            accepted = dict(accepts)
            out = []
            for i, (addr, c) in enumerate(clients.items()):
                times = " ".join(str(t) for t, _ in c["synacks"])
                cookie = int(len(c["synacks"]) == 1 and not accepted.get(addr) and not c["rst"]
                             and pattern == "burst" and i >= 3)
                rst = c["rst"] if c["rst"] and c["rst"] < accepted.get(addr, 99) else ""
                out.append([pattern, abort, i + 1, times, cookie, rst, accepted.get(addr, "")])
            return (out, queue_log, counters)
        out, queue_log, counters = in_namespace(work)
        for row in out:
            print(f"{pattern}, abort_on_overflow {abort}, client {row[2]}: SYN-ACKs at [{row[3]}] s, "
                  f"RST at {row[5] or '-'} s, accepted at {row[6] or '-'} s")
        print(f"  accept queue before each accept {queue_log}; {counters}")
        rows += [[r[0], r[1], r[2], f'"{r[3]}"', r[4], r[5], r[6]] for r in out]
    if patterns:
        return rows
    write_csv(args.csv, header, rows)
    return []


# A Linux 6.18 client's SYN waits (tcp_syn_linear_timeouts 4), cut at 15 s of setup.
SYN_WAITS_S = [1, 1, 1, 1, 1, 2, 4]
# The mean half-open lifetime on Linux's timer wheel, unpruned (half_open_lifetime.py).
HALF_OPEN_LIFETIME_S = 64.6


def flood(args, rng):
    """syn_flood's scenario on the kernel: the flood ramps in at min(A, B / L) for one
    half-open lifetime L, then runs at A; legitimate clients from 10 addresses arrive at
    Poisson times, 2 a second, from L + 1 s. First try: a SYN-ACK to the first SYN within
    its 1 s RTO, and the handshake completed."""
    header = ["flood_per_s", "backlog", "syncookies", "seed", "clients", "established_15s",
              "first_try", "first_try_rate", "setup_p50_s", "setup_p99_s", "syn_queue_mean",
              "syn_queue_max", "synacks_per_request", "admitted_per_s", "lifetime_s",
              "syncookies_sent", "listen_drops"]
    def work():
        b = args.backlog
        lab = Lab({"net.ipv4.tcp_syncookies": args.cookies, "net.ipv4.tcp_max_syn_backlog": b,
                   "net.core.somaxconn": b, "net.ipv4.tcp_synack_retries": 5})
        lab.listen(b)
        ramp = min(args.rate, b / HALF_OPEN_LIFETIME_S)
        start = time.monotonic()
        wall0 = time.time()
        clients_from = HALF_OPEN_LIFETIME_S + 1.0
        arrivals, t = [], clients_from
        for _ in range(args.clients):
            t += rng.expovariate(2.0)
            arrivals.append(t)
        clients = [{"at": at, "addr": f"192.168.77.{10 + i % 10}", "port": 20000 + i,
                    "syns": 0, "done": None} for i, at in enumerate(arrivals)]
        by_peer = {(c["addr"], c["port"]): c for c in clients}
        end_s = arrivals[-1] + sum(SYN_WAITS_S) + 1.0
        samples, synacks_to_spoofed, first_synack = [], {}, {}

        def handle(p):
            if not p.out or p.flags & (SYN | ACK) != SYN | ACK:
                return
            c = by_peer.get((p.dst, p.dport))
            if c is None:
                synacks_to_spoofed[(p.dst, p.dport)] = synacks_to_spoofed.get((p.dst, p.dport), 0) + 1
                first_synack.setdefault((p.dst, p.dport), p.at - wall0)
                return
            if c["done"] is None:
                c["done"] = (p.at - wall0 - c["at"], c["syns"])
            lab.send(packet(p.dst, p.dport, 7001, p.seq + 1, ACK))

        next_syn, next_sample, pending = 0.0, clients_from, 0
        while True:
            now = time.monotonic() - start
            if now >= end_s:
                break
            rate = ramp if now < HALF_OPEN_LIFETIME_S else args.rate
            while next_syn <= now:
                src, sport = spoofed(rng)
                lab.send(packet(src, sport, rng.getrandbits(32), 0, SYN, options_bytes("mss")))
                next_syn += rng.expovariate(rate)
            for c in clients:
                if c["done"] is None and c["syns"] < len(SYN_WAITS_S) + 1 and \
                        now >= c["at"] + sum(SYN_WAITS_S[:c["syns"]]):
                    c["syns"] += 1
                    lab.send(packet(c["addr"], c["port"], 7000, 0, SYN, options_bytes("mss")))
            lab.pump(min(0.005, max(0.0, next_syn - (time.monotonic() - start))), handle)
            lab.accept_all()
            if now >= next_sample and now <= arrivals[-1]:
                samples.append(lab.requests())
                next_sample += 0.5
        counters = lab.counters_checked()
        first = sum(1 for c in clients if c["done"] and c["done"][1] == 1 and c["done"][0] < 1.0)
        done = sum(1 for c in clients if c["done"])
        per_request = (sum(synacks_to_spoofed.values()) / len(synacks_to_spoofed)) if synacks_to_spoofed else 0
        # Spoofed requests admitted while the clients connect, and their mean lifetime by
        # Little's law (the SYN queue's mean over the same window).
        window = arrivals[-1] - clients_from
        admitted = sum(1 for at in first_synack.values() if clients_from <= at <= arrivals[-1])
        queue_mean = sum(samples) / max(len(samples), 1)
        lifetime = round(queue_mean / (admitted / window), 3) if admitted else ""
        setups = sorted(c["done"][0] for c in clients if c["done"])
        row = [args.rate, b, args.cookies, args.seed, len(clients), done, first,
               round(first / len(clients), 4), nearest_rank(setups, 0.5), nearest_rank(setups, 0.99), round(queue_mean, 2),
               max(samples, default=0), round(per_request, 3), round(admitted / window, 3),
               lifetime, counters["SyncookiesSent"], counters["ListenDrops"]]
        return row
    row = in_namespace(work)
    print(f"flood {args.rate}/s, backlog {args.backlog}, cookies {args.cookies}: first try "
          f"{row[6]}/{row[4]} = {row[7]:.3f}, established within 15 s {row[5]}, setup p50 "
          f"{row[8]} s, p99 {row[9]} s, SYN queue mean {row[10]} (max {row[11]}), SYN-ACKs per "
          f"spoofed request {row[12]}, {row[13]} admitted a second, lifetime {row[14]} s")
    write_csv(args.csv, header, [row])
    return []


def capacity(args, rng):
    """`server_capacity` at its knee, scaled to what the harness drives: N clients connect
    evenly within one second to a server that accepts 100 a second (one every 10 ms), backlog
    32; each sends 100 bytes and waits for 100 back. Each client is a Linux client as the
    harness plays it: SYN retransmissions after 1, 2, 3, 4, 5 and 7 s; on a SYN-ACK its ACK
    and then the request (seq ISN + 1, 100 bytes), or only an ACK once the request went;
    the request retransmitted after 200 ms, doubling, until the server acknowledges it.
    Past N = 100 + 33 the accept queue (33 on Linux) overflows and clients wait."""
    header = ["clients", "backlog", "accepts_per_s", "accepted", "responses", "response_p50_s",
              "response_p99_s", "slow_fraction", "listen_overflows", "listen_drops"]
    rows = []
    for n in [int(float(v)) for v in args.rates.split(",")]:
        def work():
            lab = Lab({"net.core.somaxconn": 4096, "net.ipv4.tcp_syncookies": 1})
            lab.listen(args.backlog)
            start = time.time()
            clients = {}
            for i in range(n):
                addr, port = f"192.168.77.{10 + i % 200}", 30000 + i
                clients[(addr, port)] = {"at": i / n, "syns": 0, "srv": None, "sent": None,
                                         "rto": 0.2, "acked": False, "response": None}
            syn_waits = [1, 1, 1, 1, 1, 2]
            data = b"q" * 100

            def handle(p):
                if not p.out:
                    return
                c = clients.get((p.dst, p.dport))
                if c is None:
                    return
                now = time.time() - start
                if p.flags & (SYN | ACK) == SYN | ACK:
                    c["srv"] = p.seq + 1
                    if c["sent"] is None:
                        lab.send(packet(p.dst, p.dport, 5001, c["srv"], ACK))
                        lab.send(request(p.dst, p.dport, c["srv"]))
                        c["sent"] = now
                    else:
                        lab.send(packet(p.dst, p.dport, 5101, c["srv"], ACK))
                    return
                if p.flags & ACK and p.ack == 5101:
                    c["acked"] = True
                if p.payload > 0 and c["response"] is None:
                    c["response"] = p.at - start - c["at"]
                    lab.send(packet(p.dst, p.dport, 5101, p.seq + p.payload, ACK))

            def request(addr, port, srv):
                return packet(addr, port, 5001, srv, ACK | 0x08, data=data)

            accepted, conns, next_accept = 0, [], 0.0
            deadline = 1.0 + sum(syn_waits) + 8.0
            while time.time() - start < deadline:
                now = time.time() - start
                for (addr, port), c in clients.items():
                    if c["srv"] is None and c["syns"] <= len(syn_waits) and \
                            now >= c["at"] + sum(syn_waits[:c["syns"]]):
                        lab.send(packet(addr, port, 5000, 0, SYN, options_bytes("mss")))
                        c["syns"] += 1
                    if c["sent"] is not None and not c["acked"] and c["response"] is None and \
                            now >= c["sent"] + c["rto"]:
                        lab.send(request(addr, port, c["srv"]))
                        c["sent"], c["rto"] = now, c["rto"] * 2
                lab.pump(0.002, handle)
                if now >= next_accept:
                    try:
                        conn, _ = lab.listener.accept()
                        conn.setblocking(False)
                        conns.append([conn, b""])
                        accepted += 1
                        next_accept = max(next_accept + 1.0 / args.accepts, now - 0.01)
                    except BlockingIOError:
                        pass
                for entry in conns:
                    if entry[1] is None:
                        continue
                    try:
                        got = entry[0].recv(4096)
                    except BlockingIOError:
                        continue
                    entry[1] += got
                    if len(entry[1]) >= 100:
                        entry[0].send(b"r" * 100)
                        entry[1] = None
            counters = lab.counters_checked()
            times = sorted(c["response"] for c in clients.values() if c["response"] is not None)
            # As the experiment's slow_fraction: responses that took a second or more.
            slow = sum(1 for t in times if t >= 1.0)
            row = [n, args.backlog, args.accepts, accepted, len(times), nearest_rank(times, 0.5), nearest_rank(times, 0.99),
                   round(slow / n, 4), counters["ListenOverflows"], counters["ListenDrops"]]
            return row
        row = in_namespace(work)
        print(f"{n} clients in 1 s, backlog {args.backlog}, {args.accepts} accepts/s: {row[4]} "
              f"responses, p50 {row[5]} s, p99 {row[6]} s, slow {row[7]}, ListenOverflows {row[8]}")
        rows.append(row)
    write_csv(args.csv, header, rows)
    return []


def check(args, rng):
    """The rules, quickly, each against what listener_rules.rs encodes (CI's kernel phase,
    about a minute): the queue caps, the last quarter, the cookie SYN-ACK's options, the
    accept queue's overflow (staggered, abort 0 and 1) and pruning under 20 s of flood."""
    failures = []
    args.csv = None
    # Queue caps and the last quarter: min(backlog, somaxconn) + 1, and with cookies off
    # max_syn_backlog - max_syn_backlog / 4 + 1.
    lab = Lab({})
    for port, (backlog, somaxconn, msb, cookies) in enumerate(
            [(64, 4096, 64, 0), (8, 4096, 1024, 1), (300, 64, 1024, 1), (100, 4096, 16, 0)], start=1000):
        held, _, _ = burst(lab, rng, port, backlog, somaxconn, msb, cookies, syns=300)
        expected = min(backlog, somaxconn) + 1
        if cookies == 0:
            expected = min(expected, msb - msb // 4 + 1)
        print(f"cap: backlog {backlog}, somaxconn {somaxconn}, max_syn_backlog {msb}, cookies {cookies}: "
              f"{held} requests (the rule: {expected})")
        if held != expected:
            failures.append(f"cap: {held} requests held where the rule says {expected}")
    lab.counters_checked()
    # Cookie SYN-ACK options, under `always`.
    lab.sysctl({"net.ipv4.tcp_syncookies": 2})
    lab.listen(4, 2000)
    for kind, want in (("mss", "mss 1460"), ("full", "mss 1460,sackOK,TS,nop,wscale 10")):
        cport = 45000 + len(kind)
        lab.send(packet("192.168.77.9", cport, 1000, 0, SYN, options_bytes(kind, tsval=100), dport=2000))
        got = [p for p in lab.pump(0.3) if p.out and p.dport == cport and p.flags & (SYN | ACK) == SYN | ACK]
        seen = got[0].options if got else None
        print(f"cookies: a SYN with {kind} draws <{seen}> (the rule: <{want}>)")
        if seen != want:
            failures.append(f"cookies: SYN-ACK <{seen}>, expected <{want}>")
    # Accept-queue overflow, staggered: clients 4 and 5 overflow; abort 0 retransmits the
    # SYN-ACK (about 1 and 3 s) and they get in after the accept at 2.5 s; abort 1 resets.
    rows = overflow(args, rng, patterns=["staggered"])
    for row in rows:
        abort, client, synacks = row[1], row[2], len(row[3].strip('"').split())
        if client < 4:
            continue
        ok = (synacks == 3 and row[6] == 7.5) if abort == 0 else (synacks == 1 and row[5] != "")
        if not ok:
            failures.append(f"overflow: abort {abort}, client {client}: {row}")
    # Pruning: 20 s of a 500 SYN/s flood at backlog 64, max_syn_backlog 64, cookies off.
    row = run_pruning(500.0, 64, 64, 20.0, rng, steady_from=0.0)
    print(f"pruning: {row[4]} requests held on average (max {row[5]}), SYN-ACKs per request {row[9:15]}")
    if row[5] > 49:
        failures.append(f"pruning: {row[5]} requests held, the last quarter allows 49")
    if sum(row[13:15]) > 0 or row[8] == 0:
        failures.append(f"pruning: SYN-ACKs per request {row[9:15]}: none past 4 expected, some known")
    return failures


def positive_list(text):
    """--rates: comma-separated positive numbers."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers like 1,4,16, got {text!r}")
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=["cap", "pruning", "cookies", "overflow", "flood", "capacity",
                                             "check"])
    parser.add_argument("--csv")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rates", default="1,4,16,64,500", type=positive_list)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=64.0)
    parser.add_argument("--backlog", type=int, default=256)
    parser.add_argument("--cookies", type=int, default=0, choices=[0, 1, 2])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--accepts", type=float, default=100.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    failures = {"cap": cap, "pruning": pruning, "cookies": cookies, "overflow": overflow,
                "flood": flood, "capacity": capacity, "check": check}[args.scenario](args, rng)
    for failure in failures:
        print("listener_load:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
