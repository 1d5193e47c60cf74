# c104 (lib60870-C bindings): a 104 server on tcp/PORT with one measured
# point; a client connects (STARTDT), interrogates and reads.
import sys, time, c104
port = int(sys.argv[1])
srv = c104.Server(ip="127.0.0.1", port=port)
st = srv.add_station(common_address=47)
pt = st.add_point(io_address=11, type=c104.Type.M_ME_NC_1, report_ms=0)
pt.value = 21.5
srv.start()
time.sleep(1.5)
cl = c104.Client()
conn = cl.add_connection(ip="127.0.0.1", port=port, init=c104.Init.ALL)
cst = conn.add_station(common_address=47)
cpt = cst.add_point(io_address=11, type=c104.Type.M_ME_NC_1)
cl.start()
for _ in range(50):
    if conn.is_connected: break
    time.sleep(0.1)
time.sleep(1)
print("read", cpt.read(), cpt.value)
cl.stop(); srv.stop()
