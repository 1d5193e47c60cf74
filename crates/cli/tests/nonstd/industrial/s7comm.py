import sys, time, snap7
from snap7.server import Server
from snap7.type import SrvArea
import ctypes
port = int(sys.argv[1])
srv = Server()
db = (ctypes.c_ubyte * 64)()
srv.register_area(SrvArea.DB, 1, db)
srv.start(tcp_port=port)
time.sleep(0.5)
c = snap7.client.Client()
c.connect("127.0.0.1", 0, 2, port)
print(c.db_read(1, 0, 4))
c.db_write(1, 0, bytearray(b"\x01\x02\x03\x04"))
print(c.get_cpu_state() if hasattr(c, "get_cpu_state") else "")
c.disconnect()
srv.stop()
