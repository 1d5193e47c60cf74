#!/usr/bin/env python3
"""SMTP sessions for the learned-model test, with real clients (swaks and
python3 smtplib) against aiosmtpd on 127.0.0.25:2525.

    gen_smtp.py normal N SEED | gen_smtp.py attack
"""
import random
import smtplib
import subprocess
import sys

HOST, PORT = "127.0.0.25", 2525


def swaks(rnd):
    c = ["swaks", "--server", HOST, "--port", str(PORT), "--timeout", "5",
         "--from", f"user{rnd.randint(1, 50)}@example.test"]
    for _ in range(rnd.randint(1, 3)):
        c += ["--to", f"rcpt{rnd.randint(1, 50)}@example.org"]
    if rnd.random() < 0.3:
        c += ["--attach", "-", "--attach-type", "text/plain"]
        inp = b"attachment body\n"
    else:
        inp = None
    if rnd.random() < 0.2:
        c += ["--protocol", "SMTP"]  # HELO instead of EHLO
    try:
        subprocess.run(c, input=inp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    except subprocess.TimeoutExpired:
        pass


def smtplib_session(rnd):
    s = smtplib.SMTP(HOST, PORT, timeout=10)
    s.ehlo("client%d.example.test" % rnd.randint(1, 9))
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
    for _ in range(n):
        try:
            (swaks if rnd.random() < 0.6 else smtplib_session)(rnd)
        except (smtplib.SMTPException, OSError):
            pass


def attacks():
    # 1. Recipient enumeration: many RCPT in one transaction.
    s = smtplib.SMTP(HOST, PORT, timeout=10)
    s.ehlo("scanner")
    s.mail("probe@example.test")
    for i in range(60):
        s.rcpt(f"user{i}@example.org")
    s.rset()
    s.quit()
    # 2. VRFY / EXPN probing.
    s = smtplib.SMTP(HOST, PORT, timeout=10)
    s.ehlo("scanner")
    for u in ["root", "admin", "postmaster"]:
        s.verify(u)
    s.docmd("EXPN", "staff")
    s.quit()
    # 3. Command flood.
    s = smtplib.SMTP(HOST, PORT, timeout=10)
    s.ehlo("flood")
    for _ in range(200):
        s.noop()
    s.quit()


if __name__ == "__main__":
    if sys.argv[1] == "attack":
        attacks()
    else:
        normal(int(sys.argv[2]), int(sys.argv[3]))
