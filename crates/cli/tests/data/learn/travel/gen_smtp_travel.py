#!/usr/bin/env python3
"""SMTP sessions for the cross-implementation measurement of issue 24: the
same clients (swaks, python3 smtplib) against aiosmtpd (127.0.0.25:2525) or
Postfix (127.0.0.26:2525).

    gen_smtp_travel.py aiosmtpd|postfix normal N SEED | gen_smtp_travel.py aiosmtpd|postfix attack

Run by make_smtp_travel_captures.sh. Normal traffic: 16 simulated senders,
each with its own loopback address (127.0.1.x), send one to three messages
per visit with swaks (EHLO or HELO, attachments) or smtplib (EHLO, NOOP,
several messages, RSET); some of either upgrade with STARTTLS when the
server offers it (Postfix does, aiosmtpd does not). Attacks, each from its own address: recipient
enumeration (60 RCPT), VRFY/EXPN probing, a NOOP flood.
"""
import random
import smtplib
import subprocess
import sys

SERVERS = {"aiosmtpd": "127.0.0.25", "postfix": "127.0.0.26"}
PORT = 2525
HOST = None


def swaks(rnd, ip):
    c = ["swaks", "--server", HOST, "--port", str(PORT), "--timeout", "5",
         "--local-interface", ip, "--from", f"user{rnd.randint(1, 50)}@example.test"]
    for _ in range(rnd.randint(1, 3)):
        c += ["--to", f"rcpt{rnd.randint(1, 50)}@example.org"]
    inp = None
    if rnd.random() < 0.3:
        c += ["--attach", "-", "--attach-type", "text/plain"]
        inp = b"attachment body\n"
    if rnd.random() < 0.2:
        c += ["--protocol", "SMTP"]  # HELO instead of EHLO
    elif rnd.random() < 0.3:
        c.append("--tls-optional")  # STARTTLS when the server offers it
    try:
        subprocess.run(c, input=inp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    except subprocess.TimeoutExpired:
        pass


def smtplib_session(rnd, ip):
    s = smtplib.SMTP(HOST, PORT, timeout=10, source_address=(ip, 0))
    s.ehlo("client%d.example.test" % rnd.randint(1, 9))
    if rnd.random() < 0.3 and s.has_extn("starttls"):
        s.starttls()  # opportunistic TLS, as mail clients do
        s.ehlo("client.example.test")
    for _ in range(rnd.randint(1, 2)):
        if rnd.random() < 0.2:
            s.noop()
        rcpts = [f"r{rnd.randint(1, 50)}@example.org" for _ in range(rnd.randint(1, 2))]
        s.sendmail("app@example.test", rcpts, b"Subject: report\r\n\r\nall good\r\n")
        if rnd.random() < 0.2:
            s.rset()
    s.quit()


def normal(n, seed):
    rnd = random.Random(seed)
    done = 0
    while done < n:
        u = rnd.randrange(16)
        ip = f"127.0.1.{10 + u}"
        tool = swaks if u % 2 == 0 else smtplib_session
        for _ in range(rnd.choice([1, 1, 2, 3])):
            try:
                (tool if rnd.random() < 0.8 else rnd.choice([swaks, smtplib_session]))(rnd, ip)
            except (smtplib.SMTPException, OSError):
                pass
            done += 1


def attacks():
    ips = (f"127.0.2.{i}" for i in range(20, 100))
    # 1. Recipient enumeration: many RCPT in one transaction.
    s = smtplib.SMTP(HOST, PORT, timeout=10, source_address=(next(ips), 0))
    s.ehlo("scanner")
    s.mail("probe@example.test")
    for i in range(60):
        s.rcpt(f"user{i}@example.org")
    s.rset()
    s.quit()
    # 2. VRFY / EXPN probing.
    s = smtplib.SMTP(HOST, PORT, timeout=10, source_address=(next(ips), 0))
    s.ehlo("scanner")
    for u in ["root", "admin", "postmaster", "www-data", "oracle"]:
        s.verify(u)
    s.docmd("EXPN", "staff")
    s.quit()
    # 3. Command flood.
    s = smtplib.SMTP(HOST, PORT, timeout=10, source_address=(next(ips), 0))
    s.ehlo("flood")
    for _ in range(200):
        s.noop()
    s.quit()


if __name__ == "__main__":
    HOST = SERVERS[sys.argv[1]]
    if sys.argv[2] == "attack":
        attacks()
    else:
        normal(int(sys.argv[3]), int(sys.argv[4]))
