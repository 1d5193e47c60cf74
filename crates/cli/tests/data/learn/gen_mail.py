#!/usr/bin/env python3
"""POP3 and IMAP sessions for the learned-model test, with python3 poplib
and imaplib against Dovecot on 127.0.0.110 (POP3 1110, IMAP 1143).

    gen_mail.py fill | gen_mail.py normal N SEED | gen_mail.py attack
"""
import imaplib
import poplib
import random
import sys

HOST, POP, IMAP = "127.0.0.110", 1110, 1143
USER, PASSWORD = "alice", "wonderland"


def fill():
    """Five messages written straight into alice's Maildir (not over the
    network, so no fill session lands in a capture)."""
    import os
    import shutil
    new = "/tmp/dc/mail/alice/new"
    os.makedirs(new, exist_ok=True)
    for n in range(5):
        path = f"{new}/{os.getpid()}.{n}.fill"
        with open(path, "w") as fh:
            fh.write(f"From: bob@example.test\r\nSubject: note {n}\r\n\r\nhello {n}\r\n")
    for root, dirs, files in os.walk("/tmp/dc/mail"):
        for x in dirs + files:
            shutil.chown(os.path.join(root, x), "dovecot", "dovecot")


def pop3_session(rnd):
    p = poplib.POP3(HOST, POP, timeout=10)
    if rnd.random() < 0.1:
        p.user(USER)
        try:
            p.pass_("typo")
        except poplib.error_proto:
            pass
    if rnd.random() < 0.3:
        p.capa()
    p.user(USER)
    p.pass_(PASSWORD)
    n, _ = p.stat()
    if rnd.random() < 0.6:
        p.list()
    if rnd.random() < 0.4:
        p.uidl()
    for _ in range(rnd.randint(0, 2)):
        if n:
            if rnd.random() < 0.3:
                p.top(rnd.randint(1, n), 0)
            else:
                p.retr(rnd.randint(1, n))
    if rnd.random() < 0.1:
        p.noop()
    p.quit()


def imap_session(rnd):
    i = imaplib.IMAP4(HOST, IMAP)
    if rnd.random() < 0.1:
        try:
            i.login(USER, "typo")
        except imaplib.IMAP4.error:
            pass
    i.login(USER, PASSWORD)
    if rnd.random() < 0.5:
        i.list()
    if rnd.random() < 0.2:
        i.status("INBOX", "(MESSAGES UNSEEN)")
    if rnd.random() < 0.8:
        i.select("INBOX", readonly=rnd.random() < 0.3)
        if rnd.random() < 0.6:
            i.search(None, "ALL")
        for _ in range(rnd.randint(0, 2)):
            if rnd.random() < 0.5:
                i.fetch(str(rnd.randint(1, 3)), "(FLAGS BODY.PEEK[HEADER])")
            else:
                i.uid("FETCH", "1:*", "(FLAGS)")
        if rnd.random() < 0.3:
            i.close()
    if rnd.random() < 0.1:
        i.noop()
    i.logout()


def normal(n, seed):
    rnd = random.Random(seed)
    for _ in range(n):
        try:
            (pop3_session if rnd.random() < 0.5 else imap_session)(rnd)
        except (poplib.error_proto, imaplib.IMAP4.error, OSError):
            pass


def attacks():
    # (Dovecot closes a connection after a few failed logins and delays the
    # next ones, so brute force is many sessions: the brute-force detector's
    # job, not a per-session model's.)
    # POP3: delete every message.
    p = poplib.POP3(HOST, POP, timeout=10)
    p.user(USER)
    p.pass_(PASSWORD)
    n, _ = p.stat()
    for k in range(1, n + 1):
        p.dele(k)
    p.quit()
    fill()  # new mail to delete (written to disk, not a session)
    # IMAP: flag everything deleted and expunge.
    i = imaplib.IMAP4(HOST, IMAP)
    i.login(USER, PASSWORD)
    i.select("INBOX")
    i.store("1:*", "+FLAGS", "\\Deleted")
    i.expunge()
    i.logout()
    # IMAP: command flood.
    i = imaplib.IMAP4(HOST, IMAP)
    i.login(USER, PASSWORD)
    for _ in range(200):
        i.noop()
    i.logout()


if __name__ == "__main__":
    {"fill": lambda: fill(), "attack": lambda: attacks()}.get(
        sys.argv[1], lambda: normal(int(sys.argv[2]), int(sys.argv[3])))()
