# Two bacpypes3 applications on loopback: a BACnet device on udp/PORT answers
# Who-Is and ReadProperty sent by a second application on udp/47809.
import sys, asyncio
from bacpypes3.argparse import SimpleArgumentParser
from bacpypes3.app import Application
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier
port = int(sys.argv[1])
async def main():
    p = SimpleArgumentParser()
    srv = Application.from_args(p.parse_args(["--address", f"127.0.0.1/8:{port}", "--instance", "599", "--name", "netsift-srv"]))
    cli = Application.from_args(p.parse_args(["--address", "127.0.0.1/8:47809", "--instance", "600", "--name", "netsift-cli"]))
    await asyncio.sleep(0.3)
    dst = Address(f"127.0.0.1:{port}")
    iams = await cli.who_is(599, 599, dst)
    print("i-am", iams)
    v = await cli.read_property(dst, ObjectIdentifier("device,599"), "object-name")
    print("name", v)
    v = await cli.read_property(dst, ObjectIdentifier("device,599"), "vendor-identifier")
    print("vendor", v)
    srv.close(); cli.close()
asyncio.run(main())
