# libiec61850 (pyiec61850-ng wheel): an IED server with a small dynamic model
# on tcp/PORT; the package's MMSClient connects (COTP, session CONNECT,
# presentation, ACSE, MMS initiate), identifies the server, browses and reads.
import sys, time
import pyiec61850.pyiec61850 as iec
from pyiec61850.mms.client import MMSClient
port = int(sys.argv[1])
model = iec.IedModel_create("netsift")
ld = iec.LogicalDevice_create("SENSORS", model)
iec.LogicalNode_create("LLN0", ld)
ttmp = iec.LogicalNode_create("TTMP1", ld)
iec.CDC_SAV_create("TmpSv", iec.toModelNode(ttmp), 0, False)
srv = iec.IedServer_create(model)
iec.IedServer_start(srv, port)
time.sleep(0.5)
c = MMSClient()
c.connect("127.0.0.1", port)
print(c.get_server_identity())
print(c.get_logical_devices())
print(c.get_logical_nodes("netsiftSENSORS"))
try:
    print(c.read_value("netsiftSENSORS/TTMP1.TmpSv.instMag.f", iec.IEC61850_FC_MX))
except Exception as e:
    print("read:", e)
c.disconnect()
iec.IedServer_stop(srv)
iec.IedServer_destroy(srv)
