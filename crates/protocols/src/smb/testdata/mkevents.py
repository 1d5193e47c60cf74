# usage: mkevents.py pcap out ctrl_stream data_stream[,data_stream...]
# Writes events: kind(u8: 0 control, 1+k data link k) dir(u8: 0 to initiator's peer, 1 back) ts_us(u64 LE) len(u32 LE) bytes
import subprocess, sys, struct
pcap, out, ctrl = sys.argv[1], sys.argv[2], int(sys.argv[3])
datas = [int(x) for x in sys.argv[4].split(',')] if len(sys.argv) > 4 and sys.argv[4] else []
streams = [ctrl] + datas
flt = ' or '.join(f'tcp.stream=={s}' for s in streams)
rows = subprocess.run(['tshark','-r',pcap,'-Y',flt,'-T','fields','-e','tcp.stream','-e','tcp.flags.syn','-e','tcp.flags.ack','-e','tcp.srcport','-e','tcp.dstport','-e','frame.time_epoch','-e','tcp.payload'],capture_output=True,text=True).stdout.splitlines()
init = {}
o = open(out,'wb')
for r in rows:
    st, syn, ack, sp, dp, ts, pl = r.split('\t')
    st=int(st)
    if syn == '1' and ack == '0': init[st] = sp
    if not pl: continue
    d = 0 if init.get(st) == sp else 1
    kind = streams.index(st)
    b = bytes.fromhex(pl.replace(':',''))
    o.write(struct.pack('<BBQI', kind, d, int(float(ts)*1e6), len(b)) + b)
