#!/usr/bin/env python3
"""Per-message SMTP latency: N sequential sessions (connect, EHLO, MAIL,
RCPT, DATA, QUIT), each timed from connect to the server's reply after the
final dot, which is when a milter has judged the message.

  scripts/smtp-latency.py HOST PORT FILE [N]

Prints p50/p90/p99/max in milliseconds and the reply codes seen.
"""
import smtplib
import statistics
import sys
import time
from collections import Counter

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 300
with open(path, "rb") as f:
    msg = f.read()
times, codes = [], Counter()
for i in range(n + 10):
    t0 = time.perf_counter()
    s = smtplib.SMTP(host, port, timeout=60)
    s.ehlo("latency.example")
    s.mail("bench@example.com")
    s.rcpt("rcpt@example.net")
    code, _ = s.data(msg)
    ms = (time.perf_counter() - t0) * 1000.0
    s.quit()
    if i >= 10:  # the first sessions warm caches and connections
        times.append(ms)
        codes[code] += 1
times.sort()
q = lambda p: times[min(len(times) - 1, int(round(p * (len(times) - 1))))]
print("n=%d p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms mean=%.2fms replies=%s" % (
    len(times), q(0.5), q(0.9), q(0.99), times[-1], statistics.mean(times), dict(codes)))
