// netsift.go: a small Go wrapper over netsift's C ABI (crates/ffi). Copy
// this file into a cgo-enabled package; link libnetsift.a with
//
//	cargo build --release -p netsift-ffi
//	CGO_CFLAGS="-I$NETSIFT/crates/ffi/include" \
//	CGO_LDFLAGS="$NETSIFT/target/release/libnetsift.a -ldl -lm -lpthread" go build
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../crates/ffi/include
#cgo LDFLAGS: -ldl -lm -lpthread
#include <stdlib.h>
#include "netsift.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Verdict is netsift's answer about one payload.
type Verdict struct {
	// Protocol in nDPI's spelling ("HTTP", "TLS", "SSH"), or "Unknown".
	Protocol string `json:"protocol"`
	// App is a more specific application ("HTTP2"), or "".
	App string `json:"app,omitempty"`
	// Confidence is "dpi" when the bytes matched, "none" otherwise.
	Confidence string `json:"confidence"`
	// Evidence says why (for NeedMore: which protocols need more bytes).
	Evidence string `json:"evidence,omitempty"`
	// NeedMore: some protocols would decide with more bytes.
	NeedMore bool `json:"need_more,omitempty"`
}

// Transport numbers are IP protocol numbers.
const (
	TCP = 6
	UDP = 17
)

// Version is the linked netsift library's version.
func Version() string { return C.GoString(C.netsift_version()) }

// Identify names the protocol of a connection's first payload. toClient is
// true for a server's banner. Safe to call from many goroutines.
func Identify(transport uint8, toClient bool, serverPort uint16, payload []byte) (Verdict, error) {
	dir := C.uint8_t(C.NETSIFT_TO_SERVER)
	if toClient {
		dir = C.uint8_t(C.NETSIFT_TO_CLIENT)
	}
	var p *C.uint8_t
	if len(payload) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&payload[0]))
	}
	v := C.netsift_identify(C.uint8_t(transport), dir, C.uint16_t(serverPort), p, C.size_t(len(payload)))
	if v == nil {
		return Verdict{}, errors.New(C.GoString(C.netsift_last_error()))
	}
	defer C.netsift_verdict_free(v)
	out := Verdict{
		Protocol:   C.GoString(v.protocol),
		Confidence: C.GoString(v.confidence),
		Evidence:   C.GoString(v.evidence),
		NeedMore:   v.result == C.NETSIFT_NEED_MORE,
	}
	if v.app != nil {
		out.App = C.GoString(v.app)
	}
	return out, nil
}
