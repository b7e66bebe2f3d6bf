#!/usr/bin/env python3
"""Packet loss and delay in the kernel's path, for bench/transport.mjs.

This machine's kernel has no netem (`tc qdisc add ... netem` answers "Specified qdisc kind is
unknown"), so nftables sends the chosen packets to NFQUEUE (`queue num N bypass`) and this
process gives the verdicts: each packet is dropped with probability LOSS, else accepted DELAY ms
after it arrived (a constant delay keeps the order). TCP and QUIC see the loss and the delay as
they would on a real path (their RTT estimates include it), unlike a proxy above them.

    bench/impair.py QUEUE LOSS DELAY_MS      e.g. bench/impair.py 7 0.02 10

Raw netlink (no libnetfilter_queue here). Prints "ready" once bound; on SIGTERM prints
"accepted N dropped M" and exits.
"""
import heapq
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
SOL_NETLINK, NETLINK_NO_ENOBUFS = 270, 5


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def message(msg, queue, attrs, flags=NLM_F_REQUEST):
    body = struct.pack("=BBH", 0, 0, socket.htons(queue)) + b"".join(attrs)
    kind = (NFNL_SUBSYS_QUEUE << 8) | msg
    return struct.pack("=IHHII", 16 + len(body), kind, flags, 0, 0) + body


def main():
    queue, loss, delay = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]) / 1000
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    sock.bind((0, 0))
    sock.send(message(NFQNL_MSG_CONFIG, queue, [attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0))], NLM_F_REQUEST | NLM_F_ACK))
    sock.send(message(NFQNL_MSG_CONFIG, queue, [
        attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)),
        attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 65536)),
    ], NLM_F_REQUEST | NLM_F_ACK))
    for _ in range(2):
        data = sock.recv(65536)
        _, kind, _, _, _ = struct.unpack_from("=IHHII", data)
        if kind == NLMSG_ERROR and struct.unpack_from("=i", data, 16)[0] != 0:
            sys.exit(f"impair: NFQUEUE config refused: errno {-struct.unpack_from('=i', data, 16)[0]}")
    stats = {"accepted": 0, "dropped": 0}

    def stop(*_):
        print(f"accepted {stats['accepted']} dropped {stats['dropped']}", flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    pending = []  # (due, seq, packet id)
    seq = 0

    def verdict(packet_id, v):
        sock.send(message(NFQNL_MSG_VERDICT, queue, [attr(NFQA_VERDICT_HDR, struct.pack("!II", v, packet_id))]))

    while True:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            verdict(heapq.heappop(pending)[2], NF_ACCEPT)
            stats["accepted"] += 1
        timeout = max(0.0, pending[0][0] - now) if pending else 1.0
        readable, _, _ = select.select([sock], [], [], timeout)
        if not readable:
            continue
        data = sock.recv(1 << 20)
        offset = 0
        arrived = time.monotonic()
        while offset + 16 <= len(data):
            length, kind, _, _, _ = struct.unpack_from("=IHHII", data, offset)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                at = offset + 20
                while at + 4 <= offset + length:
                    alen, akind = struct.unpack_from("=HH", data, at)
                    if alen < 4:
                        break
                    if akind & 0x7FFF == NFQA_PACKET_HDR:
                        packet_id = struct.unpack_from("!I", data, at + 4)[0]
                        if random.random() < loss:
                            verdict(packet_id, NF_DROP)
                            stats["dropped"] += 1
                        else:
                            seq += 1
                            heapq.heappush(pending, (arrived + delay, seq, packet_id))
                        break
                    at += (alen + 3) & ~3
            offset += (length + 3) & ~3


if __name__ == "__main__":
    main()
