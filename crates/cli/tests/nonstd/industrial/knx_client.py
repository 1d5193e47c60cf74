# xknx (PyPI) tunnelling client towards udp/PORT where no KNX/IP gateway
# answers: it sends CONNECT_REQUESTs (one-direction capture) and gives up.
import sys, asyncio
from xknx import XKNX
from xknx.io import ConnectionConfig, ConnectionType
port = int(sys.argv[1])
async def main():
    cfg = ConnectionConfig(connection_type=ConnectionType.TUNNELING, gateway_ip="127.0.0.1", gateway_port=port, local_ip="127.0.0.1", auto_reconnect=False)
    x = XKNX(connection_config=cfg)
    try:
        await asyncio.wait_for(x.start(), 8)
    except Exception as e:
        print("no gateway:", type(e).__name__)
    try:
        await x.stop()
    except Exception:
        pass
asyncio.run(main())
