// A Glutton-style sensor: accept TCP connections on any port, read the
// client's first bytes, ask netsift what protocol they are, log a JSON
// line, close. It never answers with protocol content.
//
//	netsift-glutton -listen 127.0.0.1:2222 [-wait 2s] [-n 0]
//	netsift-glutton -fixtures first_payloads.tsv   (verdicts for a table of payloads)
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const maxFirst = 64 * 1024

type logLine struct {
	TS      float64 `json:"ts"`
	SrcIP   string  `json:"src_ip"`
	SrcPort int     `json:"src_port"`
	DstPort int     `json:"dst_port"`
	Bytes   int     `json:"bytes"`
	Verdict
}

func handle(c net.Conn, wait time.Duration, out chan<- logLine) {
	defer c.Close()
	buf := make([]byte, maxFirst)
	n := 0
	deadline := time.Now().Add(wait)
	for n < len(buf) {
		c.SetReadDeadline(deadline)
		k, err := c.Read(buf[n:])
		n += k
		if err != nil {
			break
		}
		// Once bytes came, a short pause ends the first payload.
		deadline = time.Now().Add(300 * time.Millisecond)
	}
	local := c.LocalAddr().(*net.TCPAddr)
	remote := c.RemoteAddr().(*net.TCPAddr)
	v, err := Identify(TCP, false, uint16(local.Port), buf[:n])
	if err != nil {
		v = Verdict{Protocol: "Unknown", Confidence: "none", Evidence: err.Error()}
	}
	out <- logLine{
		TS:      float64(time.Now().UnixNano()) / 1e9,
		SrcIP:   remote.IP.String(),
		SrcPort: remote.Port,
		DstPort: local.Port,
		Bytes:   n,
		Verdict: v,
	}
}

func listen(addr string, wait time.Duration, count int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "netsift-glutton: listening on %s (netsift %s)\n", ln.Addr(), Version())
	lines := make(chan logLine, 64)
	written := make(chan struct{})
	go func() {
		enc := json.NewEncoder(os.Stdout)
		for l := range lines {
			enc.Encode(l)
		}
		close(written)
	}()
	var handlers sync.WaitGroup
	for seen := 0; count == 0 || seen < count; seen++ {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			handle(c, wait, lines)
		}()
	}
	handlers.Wait()
	close(lines)
	<-written
	return nil
}

func fixtures(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		t := sc.Text()
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Split(t, "\t")
		if len(f) < 5 {
			continue
		}
		port, _ := strconv.Atoi(f[3])
		payload, err := hex.DecodeString(f[4])
		if err != nil {
			return err
		}
		transport := uint8(TCP)
		if f[1] == "udp" {
			transport = UDP
		}
		v, err := Identify(transport, f[2] == "to_client", uint16(port), payload)
		if err != nil {
			return err
		}
		app := v.App
		if app == "" {
			app = "-"
		}
		fmt.Printf("%s\t%s\t%s\n", f[0], v.Protocol, app)
	}
	return sc.Err()
}

func main() {
	addr := flag.String("listen", "", "address to accept TCP connections on")
	wait := flag.Duration("wait", 2*time.Second, "how long to wait for the client's first bytes")
	count := flag.Int("n", 0, "stop after this many connections (0: never)")
	table := flag.String("fixtures", "", "print verdicts for a first_payloads.tsv table")
	flag.Parse()
	var err error
	switch {
	case *table != "":
		err = fixtures(*table)
	case *addr != "":
		err = listen(*addr, *wait, *count)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netsift-glutton:", err)
		os.Exit(1)
	}
}
