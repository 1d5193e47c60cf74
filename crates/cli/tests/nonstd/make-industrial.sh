#!/usr/bin/env bash
# (Re)creates the "industrial" group's captures of crates/cli/tests/nonstd/
# (see manifest-industrial.tsv): real OT protocol stacks from PyPI talking
# over LOOPBACK on a port that is not the protocol's usual one (often another
# industrial protocol's, to check the probes tell them apart).
#
# Maintainer script, not run in CI. Needs root, tcpdump and the PyPI packages
#   pip install python-snap7==3.3.0 asyncua==2.1.0 bacpypes3==0.0.110 c104==2.2.1 cpppo==5.2.5 fins==1.0.5 xknx==4.0.0 pyiec61850-ng==1.6.1.10 synchrophasor==1.0.0a0
# (python-snap7's wheel bundles libsnap7; c104's bundles lib60870-C.)
# The server+client programs are in industrial/*.py (each starts its server,
# runs a client against it, and stops).
# Usage: make-industrial.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
PY=${PY:-python3}
WORK=$(mktemp -d /tmp/nonstd-industrial.XXXXXX)
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"
have_py() { for m in "$@"; do $PY -c "import $m" 2>/dev/null || { say "skip: python module '$m' not found"; return 1; }; done; }

# ---------------------------------------------------------------- S7Comm on tcp/502 (Modbus's port)
# python-snap7 Server (libsnap7) with DB1; snap7 Client: connect (COTP CR
# with TSAPs, Setup Communication), DB read, DB write, CPU state (SZL).
cap_s7comm() {
  have_py snap7 || return
  cap_start s7comm_tcp502 'tcp port 502'
  timeout 30 $PY "$HERE/industrial/s7comm.py" 502
  cap_stop
}

# ---------------------------------------------------------------- OPC UA on tcp/8080
# asyncua Server and Client: HEL/ACK, OPN, CreateSession, Browse, Read, CLO.
cap_opcua() {
  have_py asyncua || return
  cap_start opcua_tcp8080 'tcp port 8080'
  timeout 60 $PY "$HERE/industrial/opcua.py" 8080
  cap_stop
}

# ---------------------------------------------------------------- BACnet/IP on udp/161 (SNMP's port)
# two bacpypes3 applications: Who-Is / I-Am, ReadProperty x2.
cap_bacnet() {
  have_py bacpypes3 || return
  cap_start bacnet_udp161 'udp port 161'
  timeout 30 $PY "$HERE/industrial/bacnet.py" 161
  cap_stop
}

# ---------------------------------------------------------------- IEC 60870-5-104 on tcp/102 (S7's port)
# c104 server and client: STARTDT, general interrogation, read command.
cap_iec104() {
  have_py c104 || return
  cap_start iec104_tcp102 'tcp port 102'
  timeout 30 $PY "$HERE/industrial/iec104.py" 102
  cap_stop
}

# ---------------------------------------------------------------- EtherNet/IP on tcp/2404 (IEC 104's port)
# cpppo enip_server with a tag; cpppo client: RegisterSession, List
# Identity, Read/Write Tag over SendRRData.
cap_enip() {
  have_py cpppo || return
  bg $PY -m cpppo.server.enip -a 127.0.0.1:2404 SCADA=INT[10]
  wait_port tcp 2404
  cap_start enip_tcp2404 'tcp port 2404'
  timeout 20 $PY -m cpppo.server.enip.client -a 127.0.0.1:2404 'SCADA[0-3]' 'SCADA[1]=(INT)7' 'SCADA[0-3]'
  timeout 20 $PY -m cpppo.server.enip.client -a 127.0.0.1:2404 --list-identity
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- FINS/UDP on udp/2222 (CIP I/O's port)
# the "fins" package's UDP client; no PLC answers, so only commands.
cap_fins() {
  have_py fins || return
  cap_start fins_udp2222 'udp port 2222'
  timeout 20 $PY "$HERE/industrial/fins_client.py" 2222
  cap_stop
}

# ---------------------------------------------------------------- KNXnet/IP on udp/1628 (CN/IP's port)
# xknx tunnelling client; no gateway answers, so one CONNECT_REQUEST.
cap_knx() {
  have_py xknx || return
  cap_start knxnet_ip_udp1628 'udp port 1628'
  timeout 30 $PY "$HERE/industrial/knx_client.py" 1628
  cap_stop
}

# ---------------------------------------------------------------- MMS on tcp/4840 (OPC UA's port)
# libiec61850 1.6.1 (pyiec61850-ng wheel): IED server with a small dynamic
# model, the package's MMSClient: initiate, identify, GetNameList, read.
cap_mms() {
  have_py pyiec61850 || return
  cap_start mms_tcp4840 'tcp port 4840'
  timeout 30 $PY "$HERE/industrial/mms.py" 4840
  cap_stop
}

# ---------------------------------------------------------------- IEEE C37.118 on tcp/4059 (DLMS's port)
# pyPMU ("synchrophasor"): PMU server and PDC client; see industrial/c37118.py
# for why only the PDC's command frame is there.
cap_c37118() {
  have_py synchrophasor || return
  cap_start c37118_tcp4059 'tcp port 4059'
  timeout 8 $PY "$HERE/industrial/c37118.py" 4059 >/dev/null 2>&1
  cap_stop
}

# ---------------------------------------------------------------- main
ALL_CAPS=$(declare -F | awk '{print $3}' | grep '^cap_' | grep -v '^cap_st')
[ $# -gt 0 ] && ALL_CAPS=$(printf 'cap_%s\n' "$@")
for c in $ALL_CAPS; do say "$c"; "$c"; done
