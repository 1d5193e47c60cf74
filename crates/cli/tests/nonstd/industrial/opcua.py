import sys, asyncio, logging
from asyncua import Server, Client
logging.disable(logging.WARNING)
port = int(sys.argv[1])
async def main():
    srv = Server()
    await srv.init()
    srv.set_endpoint(f"opc.tcp://127.0.0.1:{port}/netsift/")
    idx = await srv.register_namespace("urn:netsift")
    obj = await srv.nodes.objects.add_object(idx, "Plant")
    var = await obj.add_variable(idx, "Temp", 21.5)
    async with srv:
        async with Client(f"opc.tcp://127.0.0.1:{port}/netsift/") as c:
            n = await c.nodes.root.get_child(["0:Objects", f"{idx}:Plant", f"{idx}:Temp"])
            print(await n.read_value())
asyncio.run(main())
