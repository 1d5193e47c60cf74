"""The Python package gives the Rust library's verdicts and the CLI's records.

Run from a venv with the built wheel installed:  pytest python/tests
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import netsift

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "crates/ffi/tests/data/first_payloads.tsv"
CORPUS = REPO.parent / "shared/corpus/ndpi/pcap"
CLI = os.environ.get("NETSIFT_BIN") or shutil.which("netsift") or str(REPO / "target/debug/netsift")


def rows():
    for line in FIXTURES.read_text().splitlines():
        if line.startswith("#") or not line:
            continue
        name, transport, direction, port, hexs, want = line.split("\t")
        yield name, transport, direction, int(port), bytes.fromhex(hexs), want


@pytest.mark.parametrize("name,transport,direction,port,payload,want", list(rows()))
def test_identify_real_first_payloads(name, transport, direction, port, payload, want):
    v = netsift.identify(payload, port=port, transport=transport, direction=direction)
    assert v["protocol"] == want, (name, v)
    assert set(v) == {"protocol", "app", "confidence", "evidence", "need_more"}
    if want == "Unknown":
        assert v["confidence"] == "none"
    else:
        assert v["confidence"] == "dpi" and v["evidence"]
    if os.path.exists(CLI):
        out = subprocess.run(
            [CLI, "identify", "--hex", payload.hex(), "--port", str(port), "--transport",
             transport, "--direction", direction, "--format", "json"],
            check=True, capture_output=True, text=True).stdout
        cli = json.loads(out)
        assert cli["protocol"] == v["protocol"] and cli.get("app") == v["app"], (cli, v)


def test_identify_h2c_app_and_bad_arguments():
    v = netsift.identify(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", port=8080)
    assert (v["protocol"], v["app"]) == ("HTTP", "HTTP2")
    with pytest.raises(ValueError):
        netsift.identify(b"x", transport="sctp")
    with pytest.raises(ValueError):
        netsift.identify(b"x", direction="sideways")
    # Larger than the 64 KiB looked at: still an answer, no error.
    assert netsift.identify(b"GET / HTTP/1.1\r\n" + b"a" * 200_000)["protocol"] == "HTTP"


def dns_query_frame():
    ip = bytes([0x45, 0, 0, 57, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    udp = bytes([0xC3, 0x50, 0x13, 0x88, 0, 37, 0, 0])
    dns = bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + b"\x07example\x03com\x00\x00\x01\x00\x01"
    return ip + udp + dns


def test_engine_process_and_finish():
    e = netsift.Engine(layers=["dpi", "port"])
    info = e.process(1_700_000_000.25, dns_query_frame(), linktype=101)
    assert info["new_flow"] and info["protocol"] == "DNS", info
    assert e.process(1_700_000_000.5, b"\xff\xff\xff", linktype=1) is None
    assert e.flows() == []
    flows = e.finish()
    assert len(flows) == 1
    f = flows[0]
    assert (f["uid"], f["protocol"], f["dst_port"], f["l4"]) == (info["uid"], "DNS", 5000, "UDP")
    assert f["ts"] == 1_700_000_000.25
    assert e.dropped_flows == 0
    with pytest.raises(ValueError):
        netsift.Engine(layers=["dpi", "nosuch"])
    with pytest.raises(ValueError):
        e.process(float("nan"), b"")


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus missing")
@pytest.mark.parametrize("name", ["ftp.pcap", "1kxun.pcap", "quic_0RTT.pcap"])
def test_read_flows_equals_cli(name):
    path = CORPUS / name
    flows = list(netsift.read_flows(path))
    assert flows and all("uid" in f and "protocol" in f for f in flows)
    if not os.path.exists(CLI):
        pytest.skip("netsift binary not built")
    out = subprocess.run([CLI, "flows", "--format", "jsonl", str(path)],
                         check=True, capture_output=True, text=True).stdout
    cli = [json.loads(l) for l in out.splitlines()]
    key = lambda f: f["uid"]
    assert sorted(flows, key=key) == sorted(cli, key=key)


def test_read_flows_compressed_damaged_and_foreign(tmp_path):
    sample = REPO / "samples" / "loopback.pcap"
    want = list(netsift.read_flows(sample))
    assert len(want) == 9
    z = REPO / "crates" / "capture" / "testdata" / "compressed" / "loopback.pcapng.xz"
    assert [f["uid"] for f in netsift.read_flows(z)] == [f["uid"] for f in want]
    # A broken first record length: skipped by default, an error when strict.
    b = bytearray(sample.read_bytes())
    b[32:36] = (0x7FFFFFF0).to_bytes(4, "little")
    bad = tmp_path / "absurd.pcap"
    bad.write_bytes(bytes(b))
    assert len(list(netsift.read_flows(bad))) == 9
    with pytest.raises(ValueError):
        list(netsift.read_flows(bad, strict=True))
    # Link type 147 (USER0) is not decoded: refused, as by the CLI.
    b = bytearray(sample.read_bytes())
    b[20:24] = (147).to_bytes(4, "little")
    foreign = tmp_path / "user0.pcap"
    foreign.write_bytes(bytes(b))
    with pytest.raises(ValueError, match="unsupported link type 147"):
        netsift.read_flows(foreign)


def test_read_flows_errors(tmp_path):
    with pytest.raises(OSError):
        netsift.read_flows(tmp_path / "missing.pcap")
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all")
    with pytest.raises((OSError, ValueError)):
        list(netsift.read_flows(junk))


def test_readme_honeypot_snippet_runs():
    """The Python snippet of the README's honeypot section, run on a real socket."""
    import socket
    import threading

    readme = (REPO / "README.md").read_text()
    section = readme.split("## Use it in a honeypot", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    ns = {"__name__": "readme_snippet"}
    exec(compile(code, "README.md", "exec"), ns)
    classify = ns["classify_connection"]
    payload = dict((r[0], r[4]) for r in rows())["tls"]
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def client(data):
        with socket.create_connection(("127.0.0.1", port)) as c:
            if data:
                c.sendall(data)
            c.recv(1)  # wait for the sensor to close

    for data, want in ((payload, "TLS"), (b"", "Unknown")):
        t = threading.Thread(target=client, args=(data,))
        t.start()
        conn, _ = server.accept()
        with conn:
            v = classify(conn, wait=0.5)
        t.join()
        assert v["protocol"] == want, v
    server.close()
