# The "fins" PyPI package's UDP client sends FINS commands to udp/PORT where
# no PLC answers (one-direction capture): MEMORY AREA READ, CPU UNIT DATA
# READ, CPU UNIT STATUS READ. Each times out after 1 s.
import sys, fins.udp
port = int(sys.argv[1])
c = fins.udp.UDPFinsConnection()
c.connect("127.0.0.1", port=port, bind_port=40960)
c.dest_node_add = 1
c.srce_node_add = 25
for call in (
    lambda: c.memory_area_read(fins.FinsPLCMemoryAreas().DATA_MEMORY_WORD, b"\x00\x64\x00", 2),
    lambda: c.cpu_unit_data_read(),
    lambda: c.cpu_unit_status_read(),
):
    try:
        call()
    except Exception as e:
        print("no answer:", type(e).__name__)
