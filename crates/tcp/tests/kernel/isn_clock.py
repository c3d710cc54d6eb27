#!/usr/bin/env python3
"""How fast the real kernel's ISN clock ticks, measured: the oracle for the claim that an
ISN "ticks every 4 ms" (RFC 793 says 4 us; Linux adds a keyed hash of the 4-tuple to a
clock of 64 ns ticks, secure_tcp_seq). Connects the same 4-tuple twice, 1 s apart (the
first closed with SO_LINGER 0, so no TIME-WAIT holds the tuple), reads both SYNs' sequence
numbers off the loopback device and prints the ISN's advance per microsecond. Exits 1
unless it is 15.625 (one tick per 64 ns) within 2%.

Run as root in a network namespace of its own: `unshare -n python3 isn_clock.py`.
"""
import socket
import struct
import subprocess
import sys
import time

PORT, SOURCE_PORT, GAP_S = 80, 40000, 1.0

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
sniffer.bind(("lo", 0))
sniffer.settimeout(2.0)
listener = socket.socket()
listener.bind(("127.0.0.1", PORT))
listener.listen(8)


def connect_once():
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    client.bind(("127.0.0.1", SOURCE_PORT))
    started = time.monotonic_ns()
    client.connect(("127.0.0.1", PORT))
    server, _ = listener.accept()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    server.close()
    return started


def syn_isns():
    """Sequence numbers of the SYNs (no ACK) to PORT seen so far, in order."""
    isns = []
    try:
        while True:
            frame, address = sniffer.recvfrom(65535)
            if address[2] == socket.PACKET_OUTGOING:
                continue  # loopback shows each packet leaving and arriving
            ip = frame[14:]
            if ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            tcp = ip[(ip[0] & 0xF) * 4:]
            dport, seq = struct.unpack("!HI", tcp[2:8])
            flags = tcp[13]
            if dport == PORT and flags & 0x02 and not flags & 0x10:
                isns.append(seq)
    except socket.timeout:
        return isns


first = connect_once()
time.sleep(GAP_S)
second = connect_once()
isns = syn_isns()
if len(isns) != 2:
    sys.exit(f"isn_clock: saw {len(isns)} SYNs, expected 2")
elapsed_us = (second - first) / 1000
per_us = ((isns[1] - isns[0]) % 2**32) / elapsed_us
print(f"ISN advanced {(isns[1] - isns[0]) % 2**32} in {elapsed_us:.0f} us: {per_us:.3f} per us "
      f"(one tick per {1000 / per_us:.1f} ns; RFC 793's clock: 0.25 per us, one per 4 us)")
sys.exit(0 if abs(per_us - 15.625) <= 0.02 * 15.625 else 1)
