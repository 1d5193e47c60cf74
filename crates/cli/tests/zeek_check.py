"""Load every Zeek log netsift wrote with a real Zeek-log reader (parsezeeklogs)
and check each value's type against the log's #types header.

Usage: zeek_check.py TSV_DIR JSON_DIR
Exit 0 and print "zeek_check: N logs, M rows" when all is well; exit 1 with
the problems otherwise; exit 3 when parsezeeklogs is not installed (SKIP).
"""

import ipaddress
import os
import re
import sys

try:
    from parsezeeklogs import ZeekLog
except ImportError:
    print("parsezeeklogs missing")
    sys.exit(3)

CONTAINER = re.compile(r"^(set|vector)\[(.+)\]$")
# Packet times: 1970 .. 2100. Certificate validity may run to 9999-12-31.
LOW, HIGH, CERT_HIGH = 0.0, 4102444800.0, 253402300800.0


def check_scalar(ztype, v, high=HIGH):
    """None when v is a valid value of ztype, else the complaint."""
    if ztype in ("count", "int", "port"):
        if not isinstance(v, int) or isinstance(v, bool):
            return "not an int"
        if ztype == "count" and v < 0:
            return "negative count"
        if ztype == "port" and not 0 <= v <= 65535:
            return "port out of range"
    elif ztype in ("time", "interval", "double"):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return "not a number"
        if ztype == "time" and not LOW <= v <= high:
            return "time out of range"
        if ztype == "interval" and v < 0:
            return "negative interval"
    elif ztype == "bool":
        if not isinstance(v, bool):
            return "not a bool"
    elif ztype == "addr":
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return "not an address"
    elif ztype in ("string", "enum"):
        if not isinstance(v, str):
            return "not a string"
    else:
        return "unknown type"
    return None


def check_value(ztype, v, field=""):
    if v is None:
        return None
    m = CONTAINER.match(ztype)
    if m:
        if not isinstance(v, list):
            return "not a list"
        for item in v:
            bad = check_scalar(m.group(2), item)
            if bad:
                return "element " + bad
        return None
    return check_scalar(ztype, v, CERT_HIGH if field.startswith("certificate.") else HIGH)


def data_lines(path, json):
    with open(path, encoding="utf-8", errors="replace") as f:
        return sum(1 for l in f if l.strip() and (json or not l.startswith("#")))


def main():
    tsv_dir, json_dir = sys.argv[1], sys.argv[2]
    problems = []
    logs = rows = 0
    types_of = {}
    for name in sorted(os.listdir(tsv_dir)):
        if not name.endswith(".log"):
            continue
        path = os.path.join(tsv_dir, name)
        with ZeekLog(path) as log:
            if log.is_json:
                problems.append(f"{name}: read as JSON, expected TSV")
                continue
            types = log.types
            types_of[log.path] = types
            if log.path + ".log" != name:
                problems.append(f"{name}: #path is {log.path}")
            n = 0
            for rec in log:
                n += 1
                if set(rec) != set(types):
                    problems.append(f"{name}: record keys differ from #fields")
                for k, v in rec.items():
                    bad = check_value(types[k], v, k)
                    if bad:
                        problems.append(f"{name} row {n}: {k} ({types[k]}) = {v!r}: {bad}")
            if log.skipped:
                problems.append(f"{name}: reader skipped {log.skipped} lines")
            if n != data_lines(path, False):
                problems.append(f"{name}: reader gave {n} rows of {data_lines(path, False)}")
            if "close" not in log.header.directives:
                problems.append(f"{name}: no #close")
        logs += 1
        rows += n
    for name in sorted(os.listdir(json_dir)):
        if not name.endswith(".log"):
            continue
        path = os.path.join(json_dir, name)
        base = name[: -len(".log")]
        types = types_of.get(base)
        if types is None:
            problems.append(f"{name}: no TSV twin")
            continue
        with ZeekLog(path) as log:
            if not log.is_json:
                problems.append(f"{name}: not read as JSON")
                continue
            n = 0
            for rec in log:
                n += 1
                for k in ("ts",):
                    if k not in rec:
                        problems.append(f"{name} row {n}: no {k}")
                for k, v in rec.items():
                    if k not in types:
                        problems.append(f"{name} row {n}: field {k} not in the TSV log")
                        continue
                    bad = check_value(types[k], v, k)
                    if bad:
                        problems.append(f"{name} row {n}: {k} ({types[k]}) = {v!r}: {bad}")
            if log.skipped or n != data_lines(path, True):
                problems.append(f"{name}: {n} rows read, {log.skipped} skipped")
        logs += 1
        rows += n
    for p in problems[:50]:
        print(p)
    if problems:
        print(f"zeek_check: {len(problems)} problems")
        sys.exit(1)
    print(f"zeek_check: {logs} logs, {rows} rows")


main()
