#!/usr/bin/env python3
"""Generate N Suricata rules, deterministically (seeded), for benchmarks.

    bench/rules-gen.py N [--seed S] [-o FILE]

The mix imitates a public ruleset: packet/stream contents (exploit strings,
binary magic with |hex|, offsets and relative chains), http.uri / http.host /
http.user_agent / http.method rules, dns.query and tls.sni domain rules,
pcre with and without a content to anchor it, a few flowbits pairs and
thresholds. Every rule stays inside netsift's supported subset, so
`netsift analyze --suricata-rules FILE --strict-rules` loads all of them.
"""
import argparse
import random
import sys

WORDS = ("admin login update config backup shell upload cmd exec query search api "
         "wp-content plugins cgi-bin setup install debug status panel report invoice "
         "download payload beacon gate task poll check order cart token session").split()
TLDS = ("com net org info biz ru cn top xyz io co de uk".split())
EXTS = ("php asp aspx jsp cgi exe dll zip js bin dat".split())
AGENTS = ("Mozilla/4.0 (compatible; MSIE 6.0", "python-requests/", "curl/7.", "Wget/1.",
          "Go-http-client/1.1", "WinHTTP", "Java/1.", "libwww-perl/", "Nmap Scripting Engine",
          "sqlmap/1.", "masscan/1.", "zgrab/0.x")
EXPLOITS = ("/bin/sh", "cmd.exe /c", "powershell -enc", "../../../../etc/passwd",
            "<script>alert(", "UNION SELECT", "' OR '1'='1", "${jndi:ldap://", "() { :; };",
            "wget http://", "chmod +x /tmp/", "eval(base64_decode(", "xp_cmdshell",
            "%u9090%u6858", "AAAAAAAAAAAAAAAAAAAA", "\\x90\\x90\\x90\\x90")
MAGIC = ("4d 5a 90 00", "7f 45 4c 46", "25 50 44 46 2d", "50 4b 03 04", "ca fe ba be",
         "d0 cf 11 e0 a1 b1 1a e1", "1f 8b 08", "ff d8 ff e0")
CLASSTYPES = ("trojan-activity", "web-application-attack", "attempted-admin", "policy-violation",
              "bad-unknown", "misc-activity", "attempted-recon", "command-and-control")


def esc(s):
    """Write a string as Suricata content: escape what the grammar needs."""
    out = []
    for ch in s:
        if ch in '";\\|:':
            out.append("|%02x|" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def pcre_esc(s):
    out = []
    for ch in s:
        if ch.isalnum() or ch in " _-":
            out.append(ch)
        else:
            out.append("\\x%02x" % ord(ch))
    return "".join(out)


def domain(r):
    labels = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(r.randint(4, 12)))
              for _ in range(r.randint(1, 2))]
    return ".".join(labels + [r.choice(TLDS)])


def rule(r, sid):
    kind = r.choices(["pkt", "hex", "uri", "host", "ua", "dns", "sni", "pcre", "flowbits"],
                     weights=[20, 10, 22, 6, 6, 12, 12, 8, 4])[0]
    cls = r.choice(CLASSTYPES)
    tail = 'classtype:%s; sid:%d; rev:%d;' % (cls, sid, r.randint(1, 9))
    if kind == "pkt":
        s = r.choice(EXPLOITS) + r.choice(WORDS)
        opts = 'flow:established,to_server; content:"%s"; nocase;' % esc(s)
        if r.random() < 0.3:
            opts += ' content:"%s"; distance:0; within:%d;' % (esc(r.choice(WORDS)), r.randint(20, 200))
        return 'alert tcp $EXTERNAL_NET any -> $HOME_NET any (msg:"NS-BENCH exploit string %d"; %s %s)' % (sid, opts, tail)
    if kind == "hex":
        m = r.choice(MAGIC)
        extra = "".join("%02x " % r.randrange(256) for _ in range(r.randint(2, 6))).strip()
        return ('alert tcp any any -> any any (msg:"NS-BENCH binary magic %d"; flow:established; '
                'content:"|%s %s|"; depth:%d; isdataat:%d,relative; %s)'
                % (sid, m, extra, r.randint(16, 64), r.randint(1, 32), tail))
    if kind == "uri":
        path = "/" + "/".join(r.choice(WORDS) for _ in range(r.randint(1, 3))) + "." + r.choice(EXTS)
        opts = 'http.method; content:"%s"; http.uri; content:"%s";' % (r.choice(["GET", "POST"]), esc(path))
        if r.random() < 0.3:
            opts += ' content:"?%s="; distance:0;' % r.choice(WORDS)
        if r.random() < 0.2:
            opts += ' endswith;'
        return 'alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"NS-BENCH suspicious URI %d"; flow:established,to_server; %s %s)' % (sid, opts, tail)
    if kind == "host":
        return ('alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"NS-BENCH host %d"; http.host; content:"%s"; endswith; %s)'
                % (sid, domain(r), tail))
    if kind == "ua":
        return ('alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"NS-BENCH user agent %d"; http.user_agent; content:"%s%d"; startswith; %s)'
                % (sid, esc(r.choice(AGENTS)), r.randint(0, 99), tail))
    if kind == "dns":
        d = domain(r)
        return ('alert dns $HOME_NET any -> any any (msg:"NS-BENCH DNS query %d"; dns.query; content:"%s"; nocase; endswith; %s)'
                % (sid, d, tail))
    if kind == "sni":
        return ('alert tls $HOME_NET any -> $EXTERNAL_NET any (msg:"NS-BENCH TLS SNI %d"; tls.sni; content:"%s"; endswith; %s)'
                % (sid, domain(r), tail))
    if kind == "pcre":
        w = r.choice(WORDS)
        if r.random() < 0.5:
            return ('alert http any any -> any any (msg:"NS-BENCH pcre uri %d"; http.uri; content:"/%s"; pcre:"/\\/%s\\/[a-z0-9]{8,32}\\.(php|asp)\\?id=\\d+/i"; %s)'
                    % (sid, w, w, tail))
        return ('alert tcp any any -> any any (msg:"NS-BENCH pcre payload %d"; flow:established; content:"%s"; pcre:"/%s[^\\r\\n]{0,40}%s/R"; %s)'
                % (sid, esc(w), pcre_esc(r.choice(EXPLOITS)[:6]), pcre_esc(r.choice(WORDS)), tail))
    # flowbits: a setter on the request and a checker on the response.
    name = "nsb_%d" % sid
    return ('alert http any any -> any any (msg:"NS-BENCH flowbit set %d"; flow:to_server; http.uri; content:"/%s"; flowbits:set,%s; flowbits:noalert; %s)\n'
            'alert tcp any any -> any any (msg:"NS-BENCH flowbit check %d"; flow:to_client,established; flowbits:isset,%s; content:"200 OK"; threshold: type limit, track by_src, count 1, seconds 60; classtype:%s; sid:%d;)'
            % (sid, r.choice(WORDS), name, tail, sid, name, cls, sid + 1_000_000))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    r = random.Random(a.seed)
    out = open(a.output, "w") if a.output else sys.stdout
    out.write("# %d generated Suricata rules (bench/rules-gen.py, seed %d)\n" % (a.n, a.seed))
    for i in range(a.n):
        out.write(rule(r, 9_000_000 + i) + "\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
