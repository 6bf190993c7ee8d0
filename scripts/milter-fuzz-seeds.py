#!/usr/bin/env python3
"""Write seeds for the `milter` fuzz target into fuzz/corpus/milter/.

Each seed is a mode byte (odd: the target negotiates first; even: raw)
followed by the packets Postfix sends for one SMTP session carrying a
message from samples/ or tests/cases/: macros, connect, helo, mail, rcpt,
headers (value with its leading space, folded lines joined by LF), end of
headers, body (CRLF), end of message, abort, quit.

Usage: python3 scripts/milter-fuzz-seeds.py   (from any directory)
"""
import os
import struct


def pkt(code, data=b""):
    return struct.pack(">I", len(data) + 1) + code + data


def cs(*ss):
    return b"".join(s + b"\0" for s in ss)


def session(eml, negotiate=True):
    out = b""
    if negotiate:
        out += pkt(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
    out += pkt(b"D", b"C" + cs(b"j", b"mx.example", b"{client_addr}", b"192.0.2.1"))
    out += pkt(b"C", cs(b"client.example") + b"4" + struct.pack(">H", 2525) + cs(b"192.0.2.1"))
    out += pkt(b"H", cs(b"client.example"))
    out += pkt(b"D", b"M" + cs(b"i", b"4ABC", b"{auth_authen}", b"bob"))
    out += pkt(b"M", cs(b"<a@example.com>", b"SIZE=100"))
    out += pkt(b"R", cs(b"<b@example.net>"))
    head, _, body = eml.replace(b"\r\n", b"\n").partition(b"\n\n")
    headers = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1][1] += b"\n" + line
        elif b":" in line:
            name, value = line.split(b":", 1)
            headers.append([name, value])
    for name, value in headers:
        out += pkt(b"L", cs(name, value))
    out += pkt(b"N")
    out += pkt(b"B", body.replace(b"\n", b"\r\n"))
    out += pkt(b"E") + pkt(b"A") + pkt(b"Q")
    return out


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    os.makedirs("fuzz/corpus/milter", exist_ok=True)
    files = [
        "samples/legit-paypal-receipt.eml",
        "samples/phish-typosquat.eml",
        "tests/cases/phish_password_form.eml",
    ]
    for i, f in enumerate(files):
        with open(f, "rb") as fh:
            eml = fh.read()
        for suffix, mode, neg in (("a", 0, True), ("b", 3, False), ("c", 5, False)):
            with open(f"fuzz/corpus/milter/seed{i}{suffix}", "wb") as out:
                out.write(bytes([mode]) + session(eml, neg))
    print(f"wrote {3 * len(files)} seeds to fuzz/corpus/milter/")


if __name__ == "__main__":
    main()
