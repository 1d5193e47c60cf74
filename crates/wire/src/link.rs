//! Link-layer headers (Ethernet, Linux SLL/SLL2, BSD null/loop, PPP, Cisco HDLC, PPI).
