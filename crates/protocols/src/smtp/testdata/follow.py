#!/usr/bin/env python3
# usage: follow.py pcap stream_index out.bin
# out format: repeated [dir byte: 'C' client->server, 'S' server->client][u32 BE len][bytes]
import subprocess, sys, struct
pcap, idx, out = sys.argv[1], sys.argv[2], sys.argv[3]
o = subprocess.run(["tshark","-r",pcap,"-qz",f"follow,tcp,raw,{idx}"],capture_output=True,text=True).stdout
chunks=[]
started=False
for line in o.splitlines():
    if line.startswith("Node 1:"): started=True; continue
    if not started or line.startswith("===") : continue
    d = 'S' if line.startswith("\t") else 'C'
    h=line.strip()
    if not h: continue
    try: b=bytes.fromhex(h)
    except ValueError: continue
    chunks.append((d,b))
with open(out,"wb") as f:
    for d,b in chunks:
        f.write(d.encode()+struct.pack(">I",len(b))+b)
print(len(chunks), sum(len(b) for _,b in chunks))
