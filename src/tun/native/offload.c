// TUN offloads, read side: splits the TCPv4 super-packets a TUN with TUN_F_TSO4 hands us into
// MTU-sized segments and completes the partial checksums TUN_F_CSUM leaves, so everything above the
// addon sees ordinary IPv4 packets. The segment rules follow what the kernel's own software GSO does
// (tcp_gso_segment, inet_gso_segment): IP id + i, seq + offset, FIN/PSH on the last segment only,
// CWR on the first only, both checksums recomputed. See offload.h for the contract.
#include "offload.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <string.h>

enum { TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_CWR = 0x80, IPPROTO_TCP_ = 6, IPPROTO_UDP_ = 17 };

static uint16_t host16(const uint8_t *p) { // virtio header fields: host order (legacy header)
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

// RFC 1071 sum in host byte order (the ones' complement sum commutes with byte swapping, so the
// folded result stored with memcpy is already in network order). Chunks may be summed separately
// and added when each starts at an even offset of the checksummed stream.
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len) {
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len == 1) {
    uint8_t pad[2] = {p[0], 0};
    uint16_t w;
    memcpy(&w, pad, 2);
    sum += w;
  }
  return sum;
}

// Folds and complements: the value to store in a checksum field (host order, store with memcpy).
static uint16_t csum_finish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static void store16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

// CHECKSUM_PARTIAL semantics: the field already holds the folded pseudo-header sum, so summing
// from csum_start to the end and complementing completes it, for TCP and UDP alike.
static int complete_csum(uint8_t *p, size_t len, uint32_t start, uint32_t off) {
  if (start >= len || (size_t)start + off + 2 > len) return OFFLOAD_ERR_CSUM;
  uint16_t c = csum_finish(csum_add(0, p + start, len - start));
  // A UDP checksum of zero means "none" on the wire (RFC 768): send the equivalent all-ones.
  if (c == 0 && len >= 20 && p[9] == IPPROTO_UDP_ && off == 6) c = 0xffff;
  store16(p + start + off, c);
  return 0;
}

typedef struct {
  uint32_t ip_hlen, hdr_len, mss, payload, segs;
} gso_t;

// Segment i of the super-packet `pkt` (headers then payload) into dst; returns its length.
static uint32_t build_segment(const uint8_t *pkt, const gso_t *g, uint32_t i, uint8_t *dst) {
  uint32_t off = i * g->mss;
  uint32_t seg = g->payload - off < g->mss ? g->payload - off : g->mss;
  memcpy(dst, pkt, g->hdr_len);
  memcpy(dst + g->hdr_len, pkt + g->hdr_len + off, seg);

  uint8_t *ip = dst;
  put_be16(ip + 2, (uint16_t)(g->hdr_len + seg));
  put_be16(ip + 4, (uint16_t)(be16(pkt + 4) + i));
  ip[10] = ip[11] = 0;
  store16(ip + 10, csum_finish(csum_add(0, ip, g->ip_hlen)));

  uint8_t *tcp = dst + g->ip_hlen;
  put_be32(tcp + 4, be32(pkt + g->ip_hlen + 4) + off);
  uint8_t flags = tcp[13];
  if (i + 1 < g->segs) flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
  if (i > 0) flags &= (uint8_t)~TCP_CWR;
  tcp[13] = flags;
  tcp[16] = tcp[17] = 0;
  uint32_t tcp_len = g->hdr_len - g->ip_hlen + seg;
  uint64_t sum = csum_add(0, ip + 12, 8); // source and destination addresses
  sum += htons(IPPROTO_TCP_);
  sum += htons((uint16_t)tcp_len);
  store16(tcp + 16, csum_finish(csum_add(sum, tcp, tcp_len)));
  return g->hdr_len + seg;
}

// Checks the IPv4/TCP headers of a TCPv4 GSO packet and sizes its segments.
static int parse_gso(const uint8_t *pkt, size_t plen, uint32_t gso_size, uint32_t mtu, uint32_t slot_size, gso_t *g) {
  if (plen < 20 || (pkt[0] >> 4) != 4 || pkt[9] != IPPROTO_TCP_) return OFFLOAD_ERR_MALFORMED;
  uint32_t ip_hlen = (uint32_t)(pkt[0] & 15) * 4;
  if (ip_hlen < 20 || plen < (size_t)ip_hlen + 20) return OFFLOAD_ERR_MALFORMED;
  uint32_t tcp_hlen = (uint32_t)(pkt[ip_hlen + 12] >> 4) * 4;
  uint32_t hdr_len = ip_hlen + tcp_hlen;
  if (tcp_hlen < 20 || plen < hdr_len || plen > 0xffff || gso_size == 0) return OFFLOAD_ERR_MALFORMED;
  uint32_t room = mtu < slot_size ? mtu : slot_size;
  if (room <= hdr_len) return OFFLOAD_ERR_MTU;
  // The kernel's gso_size fits the route MTU; never trust it to fit ours.
  uint32_t mss = gso_size < room - hdr_len ? gso_size : room - hdr_len;
  g->ip_hlen = ip_hlen;
  g->hdr_len = hdr_len;
  g->mss = mss;
  g->payload = (uint32_t)plen - hdr_len;
  g->segs = g->payload == 0 ? 1 : (g->payload + mss - 1) / mss;
  return 0;
}

int offload_split(const uint8_t *in, size_t n, uint32_t mtu, uint8_t *out, uint32_t slot_size, uint32_t max_slots,
                  uint32_t *lengths, uint32_t *next) {
  uint32_t start = *next;
  if (max_slots == 0) return 0;
  *next = 0;
  if (n < OFFLOAD_VNET_HDR_LEN) return OFFLOAD_ERR_SHORT;
  uint8_t flags = in[0];
  uint8_t gso_type = in[1] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
  const uint8_t *pkt = in + OFFLOAD_VNET_HDR_LEN;
  size_t plen = n - OFFLOAD_VNET_HDR_LEN;

  if (gso_type == VIRTIO_NET_HDR_GSO_NONE) {
    if (plen > slot_size) return OFFLOAD_ERR_TOO_BIG;
    if (plen == 0) return OFFLOAD_ERR_SHORT;
    memcpy(out, pkt, plen);
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      int rc = complete_csum(out, plen, host16(in + 6), host16(in + 8));
      if (rc < 0) return rc;
    }
    lengths[0] = (uint32_t)plen;
    return 1;
  }
  if (gso_type != VIRTIO_NET_HDR_GSO_TCPV4) return OFFLOAD_ERR_GSO_TYPE;

  gso_t g;
  int rc = parse_gso(pkt, plen, host16(in + 4), mtu, slot_size, &g);
  if (rc < 0) return rc;
  if (start >= g.segs) return 0;
  uint32_t k = g.segs - start < max_slots ? g.segs - start : max_slots;
  for (uint32_t j = 0; j < k; j++) lengths[j] = build_segment(pkt, &g, start + j, out + (size_t)j * slot_size);
  *next = start + k < g.segs ? start + k : 0;
  return (int)k;
}
