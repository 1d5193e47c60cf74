# pyPMU ("synchrophasor" on PyPI): a PMU server on tcp/PORT sending its
# sample configuration and data frames, and the package's PDC client:
# command frames (send HDR, send CFG-2, turn on), header, CFG-2, data.
# With synchrophasor 1.0.0a0 on Python 3.11 the PMU accepts the connection
# but never answers, so the capture holds the PDC's first command frame
# (send HDR) and the script is ended by the caller's timeout.
import sys, time, logging, threading
from synchrophasor.pmu import Pmu
from synchrophasor.pdc import Pdc
logging.disable(logging.CRITICAL)
port = int(sys.argv[1])
pmu = Pmu(ip="127.0.0.1", port=port)
pmu.set_configuration()
pmu.set_header()
pmu.run()
def feed():
    for _ in range(200):
        if pmu.clients:
            pmu.send(pmu.ieee_data_sample)
        time.sleep(0.01)
threading.Thread(target=feed, daemon=True).start()
time.sleep(1.5)
pdc = Pdc(pdc_id=7, pmu_ip="127.0.0.1", pmu_port=port)
pdc.run()
print(pdc.get_header())
print(pdc.get_config())
pdc.start()
for _ in range(3):
    print(type(pdc.get()).__name__)
pdc.stop()
pdc.quit()
time.sleep(0.3)
