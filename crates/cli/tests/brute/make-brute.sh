#!/usr/bin/env bash
# (Re)creates the brute-force captures of this folder: THC hydra 9.4 guessing
# passwords against real servers on LOOPBACK, and one ordinary login per
# service. Maintainer script, not run in CI; needs root and the Debian
# packages hydra, vsftpd, openssh-server, dovecot-imapd, dovecot-pop3d,
# nginx, sshpass, curl, tcpdump, openssl.
#
# Account on every server: alice / correct-horse. Every hydra run gets the
# a list with the right password last, so each run ends with a success that
# follows the failures: passwords.txt (15 wrong, then the right one), for
# SSH passwords-ssh.txt (29 wrong, then the right one). sshd runs with
# MaxAuthTries 3 (a common hardening value; OpenSSH's default is 6) so that
# hydra's guesses spread over several sessions, as they do in any longer run.
#
#   ftp_hydra.pcap    vsftpd 127.0.0.1:2121      hydra -t 4 ftp
#   ssh_hydra.pcap    sshd   127.0.0.1:2222      hydra -t 4 ssh
#   imap_hydra.pcap   dovecot 127.0.0.1:1143     hydra -t 4 imap (LOGIN)
#   pop3_hydra.pcap   dovecot 127.0.0.1:1110     hydra -t 4 pop3 (USER/PASS)
#   http_hydra.pcap   nginx auth_basic :8081     hydra -t 4 http-get /secret/
#   normal_logins.pcap  one correct login to each of the five (curl, sshpass)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE
WORK=$(mktemp -d /tmp/brute.XXXXXX)
PIDS=()
TCPDUMP_PID=
. "$HERE/../nonstd/lib.sh"
chmod 755 "$WORK"

PASS=correct-horse
id alice >/dev/null 2>&1 || useradd -m -s /bin/bash alice
echo "alice:$PASS" | chpasswd
: > "$WORK/passwords.txt"
for p in 123456 password qwerty letmein dragon monkey abc123 iloveyou \
         sunshine princess football shadow master welcome trustno1; do
  echo "$p" >> "$WORK/passwords.txt"
done
cp "$WORK/passwords.txt" "$WORK/passwords-ssh.txt"
echo "$PASS" >> "$WORK/passwords.txt"
for i in $(seq 16 29); do echo "guess$i" >> "$WORK/passwords-ssh.txt"; done
echo "$PASS" >> "$WORK/passwords-ssh.txt"
cp "$WORK/passwords.txt" "$WORK/passwords-ssh.txt" "$HERE/"

# ---- vsftpd (PAM: a real system login) -------------------------------------
mkdir -p /var/run/vsftpd/empty
cat > "$WORK/vsftpd.conf" <<CFG
listen=YES
listen_address=127.0.0.1
listen_port=2121
local_enable=YES
anonymous_enable=NO
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
delay_failed_login=0
max_login_fails=1
pasv_min_port=40110
pasv_max_port=40110
background=NO
CFG
bg /usr/sbin/vsftpd "$WORK/vsftpd.conf"
# ---- sshd ------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$WORK/hostkey"
mkdir -p /run/sshd
cat > "$WORK/sshd_config" <<CFG
Port 2222
ListenAddress 127.0.0.1
HostKey $WORK/hostkey
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
PidFile $WORK/sshd.pid
MaxStartups 100
MaxAuthTries 3
CFG
bg /usr/sbin/sshd -D -f "$WORK/sshd_config" -E "$WORK/sshd.log"
# ---- dovecot (passwd-file, no failure delay) --------------------------------
mkdir -p "$WORK/dovecot/run" "$WORK/mail"
chown -R alice "$WORK/mail"
echo "alice:{PLAIN}$PASS" > "$WORK/dovecot/users"
cat > "$WORK/dovecot/dovecot.conf" <<CFG
protocols = imap pop3
listen = 127.0.0.1
base_dir = $WORK/dovecot/run
state_dir = $WORK/dovecot/run
log_path = $WORK/dovecot/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:$WORK/mail/%u
passdb {
  driver = passwd-file
  args = $WORK/dovecot/users
}
userdb {
  driver = static
  args = uid=alice gid=alice home=$WORK/mail/%u
}
service imap-login {
  inet_listener imap {
    port = 1143
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 1110
  }
  inet_listener pop3s {
    port = 0
  }
}
CFG
/usr/sbin/dovecot -F -c "$WORK/dovecot/dovecot.conf" & DOVECOT=$!
# ---- nginx with auth_basic ---------------------------------------------------
mkdir -p "$WORK/nginx/html/secret"
echo "secret page" > "$WORK/nginx/html/secret/index.html"
echo "alice:$(openssl passwd -apr1 "$PASS")" > "$WORK/nginx/htpasswd"
chmod 644 "$WORK/nginx/htpasswd"
cat > "$WORK/nginx/nginx.conf" <<CFG
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http {
  access_log $WORK/nginx/access.log;
  server {
    listen 127.0.0.1:8081;
    root $WORK/nginx/html;
    location /secret/ {
      auth_basic "netsift test";
      auth_basic_user_file $WORK/nginx/htpasswd;
    }
  }
}
CFG
bg nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
for p in 2121 2222 1143 1110 8081; do wait_port tcp $p; done

H="hydra -I -t 4 -l alice -P $WORK/passwords.txt"
cap_start ftp_hydra 'tcp port 2121 or tcp port 40110'
$H ftp://127.0.0.1:2121 2>&1 | grep -E 'login:|successfully|tries' >&2
cap_stop
cap_start ssh_hydra 'tcp port 2222'
hydra -I -t 4 -l alice -P "$WORK/passwords-ssh.txt" ssh://127.0.0.1:2222 2>&1 | grep -E 'login:|successfully|tries' >&2
cap_stop
cap_start imap_hydra 'tcp port 1143'
$H imap://127.0.0.1:1143 2>&1 | grep -E 'login:|successfully|tries' >&2
cap_stop
cap_start pop3_hydra 'tcp port 1110'
$H pop3://127.0.0.1:1110 2>&1 | grep -E 'login:|successfully|tries' >&2
cap_stop
cap_start http_hydra 'tcp port 8081'
$H -s 8081 127.0.0.1 http-get /secret/ 2>&1 | grep -E 'login:|successfully|tries' >&2
cap_stop

# Dovecot's auth penalty (anvil) now delays every login from 127.0.0.1 by up
# to 15 s: a fresh dovecot forgets it.
kill $DOVECOT; wait $DOVECOT 2>/dev/null
bg /usr/sbin/dovecot -F -c "$WORK/dovecot/dovecot.conf"
wait_port tcp 1143; wait_port tcp 1110
cap_start normal_logins 'tcp port 2121 or tcp port 40110 or tcp port 2222 or tcp port 1143 or tcp port 1110 or tcp port 8081'
curl -s --max-time 5 -o /dev/null -u "alice:$PASS" ftp://127.0.0.1:2121/
sshpass -p "$PASS" ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  -o PubkeyAuthentication=no -p 2222 alice@127.0.0.1 true 2>/dev/null
curl -s --max-time 5 -o /dev/null -u "alice:$PASS" 'imap://127.0.0.1:1143/INBOX'
curl -s --max-time 5 -o /dev/null -u "alice:$PASS" pop3://127.0.0.1:1110/
curl -s --max-time 5 -o /dev/null -u "alice:$PASS" http://127.0.0.1:8081/secret/
cap_stop
say "sshd: $(grep -c 'Failed password' "$WORK/sshd.log") failed passwords, $(grep -c 'Accepted password' "$WORK/sshd.log") accepted"
