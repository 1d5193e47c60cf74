/* A C program using netsift's C ABI, compiled with gcc by tests/c_abi.rs.
 *
 *   netsift_test identify FIRST_PAYLOADS.tsv
 *       one line per row: name, result, protocol, app, confidence, evidence
 *   netsift_test flows CAPTURE.pcap [LAYERS]
 *       feeds every frame of a classic pcap to an engine, then prints each
 *       flow's JSON record (the keys of `netsift flows --format jsonl`)
 *   netsift_test errors
 *       bad calls that must fail cleanly
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netsift.h"

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int identify(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return 2; }
    static char line[300000];
    static uint8_t buf[150000];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *fields[6] = {0};
        char *save = NULL;
        int n = 0;
        for (char *t = strtok_r(line, "\t\n", &save); t && n < 6; t = strtok_r(NULL, "\t\n", &save))
            fields[n++] = t;
        if (n < 5) continue;
        uint8_t transport = strcmp(fields[1], "udp") == 0 ? NETSIFT_UDP : NETSIFT_TCP;
        uint8_t dir = strcmp(fields[2], "to_client") == 0 ? NETSIFT_TO_CLIENT : NETSIFT_TO_SERVER;
        uint16_t port = (uint16_t)atoi(fields[3]);
        size_t len = 0;
        const char *h = fields[4];
        for (; h[0] && h[1] && len < sizeof buf; h += 2)
            buf[len++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
        netsift_verdict *v = netsift_identify(transport, dir, port, buf, len);
        if (!v) { fprintf(stderr, "%s: %s\n", fields[0], netsift_last_error()); return 1; }
        printf("%s\t%d\t%s\t%s\t%s\t%s\n", fields[0], v->result, v->protocol,
               v->app ? v->app : "-", v->confidence, v->evidence);
        netsift_verdict_free(v);
    }
    fclose(f);
    return 0;
}

static uint32_t rd32(const uint8_t *p, int swap) {
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

static int flows(const char *path, const char *layers) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 2; }
    uint8_t gh[24];
    if (fread(gh, 1, 24, f) != 24) { fprintf(stderr, "short pcap header\n"); return 2; }
    uint32_t magic;
    memcpy(&magic, gh, 4);
    int swap, nano;
    if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) swap = 0;
    else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) swap = 1;
    else { fprintf(stderr, "not a classic pcap\n"); return 2; }
    nano = rd32(gh, swap) == 0xa1b23c4d;
    uint32_t linktype = rd32(gh + 20, swap) & 0x0fffffff;

    netsift_engine *e = NULL;
    if (netsift_engine_new(layers, &e) != NETSIFT_OK) {
        fprintf(stderr, "engine: %s\n", netsift_last_error());
        return 1;
    }
    static uint8_t pkt[262144];
    uint8_t rh[16];
    unsigned long packets = 0, in_flow = 0;
    while (fread(rh, 1, 16, f) == 16) {
        uint32_t sec = rd32(rh, swap), frac = rd32(rh + 4, swap);
        uint32_t incl = rd32(rh + 8, swap), orig = rd32(rh + 12, swap);
        if (incl > sizeof pkt) { fprintf(stderr, "record too long\n"); break; }
        if (fread(pkt, 1, incl, f) != incl) break;
        uint64_t ts = (uint64_t)sec * 1000000000u + (uint64_t)frac * (nano ? 1u : 1000u);
        netsift_packet info;
        if (netsift_engine_process(e, ts, linktype, pkt, incl, orig, &info) != NETSIFT_OK) {
            fprintf(stderr, "process: %s\n", netsift_last_error());
            return 1;
        }
        packets++;
        in_flow += info.in_flow;
        netsift_flow *fl;
        while ((fl = netsift_engine_next_flow(e))) {
            puts(fl->json);
            netsift_flow_free(fl);
        }
    }
    netsift_engine_finish(e);
    netsift_flow *fl;
    while ((fl = netsift_engine_next_flow(e))) {
        puts(fl->json);
        netsift_flow_free(fl);
    }
    fprintf(stderr, "%lu packets, %lu in flows\n", packets, in_flow);
    netsift_engine_free(e);
    fclose(f);
    return 0;
}

static int errors(void) {
    int bad = 0;
    if (netsift_identify(NETSIFT_TCP, NETSIFT_TO_SERVER, 80, NULL, 5) != NULL) bad++;
    if (strstr(netsift_last_error(), "NULL") == NULL) bad++;
    if (netsift_identify(NETSIFT_TCP, 9, 80, (const uint8_t *)"x", 1) != NULL) bad++;
    netsift_engine *e = NULL;
    if (netsift_engine_new("dpi,bogus", &e) != NETSIFT_ERR_LAYER || e != NULL) bad++;
    if (strstr(netsift_last_error(), "bogus") == NULL) bad++;
    if (netsift_engine_new(NULL, NULL) != NETSIFT_ERR_NULL) bad++;
    if (netsift_engine_process(NULL, 0, 1, (const uint8_t *)"x", 1, 1, NULL) != NETSIFT_ERR_NULL) bad++;
    if (netsift_engine_next_flow(NULL) != NULL) bad++;
    if (netsift_engine_new("", &e) != NETSIFT_OK) bad++;
    /* A frame of garbage is not in a flow, and not an error. */
    netsift_packet info;
    if (netsift_engine_process(e, 1, 1, (const uint8_t *)"\xff\xff", 2, 2, &info) != NETSIFT_OK || info.in_flow) bad++;
    netsift_engine_free(e);
    netsift_engine_free(NULL);
    netsift_verdict_free(NULL);
    netsift_flow_free(NULL);
    printf("version %s, %d bad\n", netsift_version(), bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "identify") == 0) return identify(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "flows") == 0) return flows(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc >= 2 && strcmp(argv[1], "errors") == 0) return errors();
    fprintf(stderr, "usage: %s identify TSV | flows PCAP [LAYERS] | errors\n", argv[0]);
    return 2;
}
