/*
 * netsift's binding to Debian's libndpi (nDPI 4.2), compiled by build.rs
 * only with the `ndpi` feature.
 *
 * nDPI's flow structure is not opaque: the confidence of a verdict and the
 * host name it saw are fields of `struct ndpi_flow_struct`, whose layout
 * changes between nDPI releases. This shim is compiled against the
 * installed headers, so the C compiler, not a hand-copied layout, reads
 * those fields; the Rust side binds only the functions below.
 */
#include <stdint.h>
#include <string.h>
#include <ndpi_api.h>

struct ns_ndpi_result {
  uint16_t master;
  uint16_t app;
  int32_t confidence; /* ndpi_confidence_t */
  uint8_t guessed;    /* giveup only: the answer is nDPI's guess */
  char host[81];      /* host_server_name (SNI, HTTP Host, DNS query...) */
};

void *ns_ndpi_init(void) {
  struct ndpi_detection_module_struct *m = ndpi_init_detection_module(ndpi_no_prefs);
  if (m == NULL)
    return NULL;
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(m, &all);
  ndpi_finalize_initialization(m);
  return m;
}

void ns_ndpi_exit(void *m) { ndpi_exit_detection_module(m); }

void *ns_ndpi_flow_new(void) {
  uint32_t n = ndpi_detection_get_sizeof_ndpi_flow_struct();
  void *f = ndpi_flow_malloc(n);
  if (f != NULL)
    memset(f, 0, n);
  return f;
}

void ns_ndpi_flow_free(void *f) { ndpi_free_flow(f); }

static void fill(struct ndpi_flow_struct *f, ndpi_protocol p, struct ns_ndpi_result *r) {
  r->master = p.master_protocol;
  r->app = p.app_protocol;
  r->confidence = (int32_t)f->confidence;
  size_t n = strnlen(f->host_server_name, sizeof(f->host_server_name));
  if (n > sizeof(r->host) - 1)
    n = sizeof(r->host) - 1;
  memcpy(r->host, f->host_server_name, n);
  r->host[n] = 0;
}

void ns_ndpi_process(void *m, void *f, const uint8_t *ip, uint16_t len, uint64_t ts_ms,
                     struct ns_ndpi_result *r) {
  ndpi_protocol p = ndpi_detection_process_packet(m, f, ip, len, ts_ms);
  r->guessed = 0;
  fill(f, p, r);
}

void ns_ndpi_giveup(void *m, void *f, struct ns_ndpi_result *r) {
  uint8_t guessed = 0;
  ndpi_protocol p = ndpi_detection_giveup(m, f, 1, &guessed);
  r->guessed = guessed;
  fill(f, p, r);
}

uint32_t ns_ndpi_num_protocols(void *m) { return ndpi_get_num_supported_protocols(m); }

const char *ns_ndpi_proto_name(void *m, uint16_t id) { return ndpi_get_proto_name(m, id); }

const char *ns_ndpi_confidence_name(int32_t c) {
  return ndpi_confidence_get_name((ndpi_confidence_t)c);
}

const char *ns_ndpi_revision(void) { return ndpi_revision(); }
