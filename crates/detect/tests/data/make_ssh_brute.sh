#!/usr/bin/env bash
# Recreates ssh_brute.pcap (root; needs openssh-server, sshpass, tcpdump):
# OpenSSH's sshd on 127.0.0.1:2222, 24 password logins with wrong passwords
# (one connection each, NumberOfPasswordPrompts=1), then one good login
# that moves 80 KB (an ordinary session, which must not count).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
trap 'kill $(cat "$W/sshd.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
id alice >/dev/null 2>&1 || useradd -m alice
echo 'alice:correct-horse' | chpasswd
ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
mkdir -p /run/sshd
cat > "$W/sshd_config" <<CFG
Port 2222
ListenAddress 127.0.0.1
HostKey $W/hostkey
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
PidFile $W/sshd.pid
MaxStartups 100
CFG
/usr/sbin/sshd -f "$W/sshd_config" -E "$W/sshd.log"
sleep 0.5
tcpdump -i lo -s 0 -w "$HERE/ssh_brute.pcap" 'tcp port 2222' 2>/dev/null &
TD=$!
sleep 1
O="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o NumberOfPasswordPrompts=1 -o PreferredAuthentications=password -o PubkeyAuthentication=no -p 2222"
for i in $(seq 1 24); do sshpass -p "wrong$i" ssh $O alice@127.0.0.1 true 2>/dev/null || true; done
sshpass -p correct-horse ssh $O alice@127.0.0.1 'head -c 60000 /dev/urandom | base64' >/dev/null
sleep 1
kill $TD
wait $TD 2>/dev/null || true
grep -c 'Failed password' "$W/sshd.log"
