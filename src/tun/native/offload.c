// TUN offloads. Read side: splits the TCPv4 and TCPv6 super-packets a TUN with TUN_F_TSO4 hands us into
// MTU-sized segments and completes the partial checksums TUN_F_CSUM leaves, so everything above the
// addon sees ordinary IPv4 packets. The segment rules follow what the kernel's own software GSO does
// (tcp_gso_segment, inet_gso_segment): IP id + i, seq + offset, FIN/PSH on the last segment only,
// CWR on the first only, both checksums recomputed. Write side: groups consecutive segments of a
// flow into one GSO write, with the merge rules of the kernel's tcp_gro_receive. See offload.h.
#include "offload.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <string.h>

enum { TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_ACK = 0x10, TCP_CWR = 0x80, IPPROTO_TCP_ = 6, IPPROTO_UDP_ = 17 };

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
  if (c == 0 && off == 6 && len >= 20 && (p[0] >> 4) == 4 && p[9] == IPPROTO_UDP_) c = 0xffff;
  if (c == 0 && off == 6 && len >= 40 && (p[0] >> 4) == 6 && p[6] == IPPROTO_UDP_) c = 0xffff; // zero is invalid in v6
  store16(p + start + off, c);
  return 0;
}

typedef struct {
  uint32_t ip_hlen, hdr_len, mss, payload, segs, v6;
} gso_t;

// Segment i of the super-packet `pkt` (headers then payload) into dst; returns its length.
static uint32_t build_segment(const uint8_t *pkt, const gso_t *g, uint32_t i, uint8_t *dst) {
  uint32_t off = i * g->mss;
  uint32_t seg = g->payload - off < g->mss ? g->payload - off : g->mss;
  memcpy(dst, pkt, g->hdr_len);
  memcpy(dst + g->hdr_len, pkt + g->hdr_len + off, seg);

  uint8_t *ip = dst;
  if (g->v6) {
    put_be16(ip + 4, (uint16_t)(g->hdr_len - 40 + seg)); // payload length; v6 has no id, no header checksum
  } else {
    put_be16(ip + 2, (uint16_t)(g->hdr_len + seg));
    put_be16(ip + 4, (uint16_t)(be16(pkt + 4) + i));
    ip[10] = ip[11] = 0;
    store16(ip + 10, csum_finish(csum_add(0, ip, g->ip_hlen)));
  }

  uint8_t *tcp = dst + g->ip_hlen;
  put_be32(tcp + 4, be32(pkt + g->ip_hlen + 4) + off);
  uint8_t flags = tcp[13];
  if (i + 1 < g->segs) flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
  if (i > 0) flags &= (uint8_t)~TCP_CWR;
  tcp[13] = flags;
  tcp[16] = tcp[17] = 0;
  uint32_t tcp_len = g->hdr_len - g->ip_hlen + seg;
  // Pseudo-header: addresses (v4 12..20, v6 8..40), protocol, TCP length (RFC 793, RFC 8200 8.1).
  uint64_t sum = g->v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);
  sum += htons(IPPROTO_TCP_);
  sum += htons((uint16_t)tcp_len);
  store16(tcp + 16, csum_finish(csum_add(sum, tcp, tcp_len)));
  return g->hdr_len + seg;
}

// Checks the IP/TCP headers of a TCPv4 or TCPv6 GSO packet and sizes its segments. A TCPv6 one must
// have TCP right after the IPv6 header (the local stack's GSO packets do; extension headers: dropped).
static int parse_gso(const uint8_t *pkt, size_t plen, uint32_t gso_size, uint32_t mtu, uint32_t slot_size, int v6, gso_t *g) {
  uint32_t ip_hlen;
  if (v6) {
    if (plen < 40 || (pkt[0] >> 4) != 6 || pkt[6] != IPPROTO_TCP_) return OFFLOAD_ERR_MALFORMED;
    ip_hlen = 40;
  } else {
    if (plen < 20 || (pkt[0] >> 4) != 4 || pkt[9] != IPPROTO_TCP_) return OFFLOAD_ERR_MALFORMED;
    ip_hlen = (uint32_t)(pkt[0] & 15) * 4;
  }
  if (ip_hlen < 20 || plen < (size_t)ip_hlen + 20) return OFFLOAD_ERR_MALFORMED;
  uint32_t tcp_hlen = (uint32_t)(pkt[ip_hlen + 12] >> 4) * 4;
  uint32_t hdr_len = ip_hlen + tcp_hlen;
  if (tcp_hlen < 20 || plen < hdr_len || plen > 0xffff || gso_size == 0) return OFFLOAD_ERR_MALFORMED;
  uint32_t room = mtu < slot_size ? mtu : slot_size;
  if (room <= hdr_len) return OFFLOAD_ERR_MTU;
  // The kernel's gso_size fits the route MTU; never trust it to fit ours.
  uint32_t mss = gso_size < room - hdr_len ? gso_size : room - hdr_len;
  g->v6 = (uint32_t)v6;
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
  if (gso_type != VIRTIO_NET_HDR_GSO_TCPV4 && gso_type != VIRTIO_NET_HDR_GSO_TCPV6) return OFFLOAD_ERR_GSO_TYPE;

  gso_t g;
  int rc = parse_gso(pkt, plen, host16(in + 4), mtu, slot_size, gso_type == VIRTIO_NET_HDR_GSO_TCPV6, &g);
  if (rc < 0) return rc;
  if (start >= g.segs) return 0;
  uint32_t k = g.segs - start < max_slots ? g.segs - start : max_slots;
  for (uint32_t j = 0; j < k; j++) lengths[j] = build_segment(pkt, &g, start + j, out + (size_t)j * slot_size);
  *next = start + k < g.segs ? start + k : 0;
  return (int)k;
}

// ---- write side ----

// A packet that may join a GSO group: IPv4 without options or fragments, TCP with ACK (and maybe
// PSH) only, some payload, lengths consistent, checksum valid (a merged group is handed over as
// CHECKSUM_PARTIAL, which the kernel no longer verifies, so a bad one must stay on its own).
static int coalescable(const uint8_t *p, uint32_t len, uint32_t *thl, uint32_t *payload) {
  if (len < 40 || p[0] != 0x45 || p[9] != IPPROTO_TCP_ || be16(p + 2) != len) return 0;
  if ((be16(p + 6) & 0x3fff) != 0) return 0; // MF or a fragment offset
  uint32_t t = (uint32_t)(p[32] >> 4) * 4;
  if (t < 20 || 20 + t >= len) return 0;
  if ((p[33] & ~TCP_PSH) != TCP_ACK) return 0;
  uint64_t sum = csum_add(0, p + 12, 8);
  sum += htons(IPPROTO_TCP_);
  sum += htons((uint16_t)(len - 20));
  if (csum_finish(csum_add(sum, p + 20, len - 20)) != 0) return 0;
  *thl = t;
  *payload = len - 20 - t;
  return 1;
}

// Same flow: addresses and ports (bytes 12..24).
static int same_flow(const uint8_t *a, const uint8_t *b) { return memcmp(a + 12, b + 12, 12) == 0; }

// b may follow a in a GSO group: same TOS, DF, TTL, ack, window, header length and TCP options.
static int mergeable(const uint8_t *a, const uint8_t *b, uint32_t thl) {
  return a[1] == b[1] && a[6] == b[6] && a[8] == b[8] && memcmp(a + 28, b + 28, 4) == 0 &&
         memcmp(a + 34, b + 34, 2) == 0 && (uint32_t)(b[32] >> 4) * 4 == thl && memcmp(a + 40, b + 40, thl - 20) == 0;
}

enum { OPEN_MAX = 8 }; // flows with a group still open; a ninth closes the oldest

// How far back a segment may move to sit before the later segments of its flow (bounds the work
// of a flush to n * SORT_REACH comparisons; a flush is a few hundred packets at most).
enum { SORT_REACH = 64 };

// Serial-number order (RFC 1982) of TCP sequence numbers: a before b.
static int seq_before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

// The write order (see offload.h): each data segment x moves back before the segments of its flow
// with a higher sequence number that precede it, never past a packet of its flow that is not a
// coalescable data segment (a FIN, a pure ACK, a bad checksum) and at most SORT_REACH places.
// info[i] is packet i's payload when it may join a group, else OFFLOAD_NO_NEXT.
static void write_order(const uint8_t *const *pkts, const uint32_t *lens, const uint32_t *info, uint32_t n,
                        uint32_t *order) {
  for (uint32_t pos = 0; pos < n; pos++) {
    order[pos] = pos;
    if (info[pos] == OFFLOAD_NO_NEXT) continue;
    const uint8_t *x = pkts[pos];
    uint32_t sx = be32(x + 24);
    uint32_t dest = pos;
    uint32_t stop = pos > SORT_REACH ? pos - SORT_REACH : 0;
    for (uint32_t q = pos; q > stop; q--) {
      uint32_t y = order[q - 1];
      const uint8_t *py = pkts[y];
      if (lens[y] < 24 || (py[0] >> 4) != 4 || py[9] != IPPROTO_TCP_) continue; // not TCPv4: may be passed
      // With IP options the ports are elsewhere: same addresses is then enough to stop.
      if (py[0] != 0x45 ? memcmp(py + 12, x + 12, 8) == 0 : same_flow(py, x)) {
        if (info[y] == OFFLOAD_NO_NEXT || !seq_before(sx, be32(py + 24))) break;
        dest = q - 1;
      } // else another flow: may be passed
    }
    if (dest < pos) {
      memmove(order + dest + 1, order + dest, sizeof order[0] * (pos - dest));
      order[dest] = pos;
    }
  }
}

uint32_t offload_coalesce(const uint8_t *const *pkts, const uint32_t *lens, uint32_t n, offload_group_t *groups,
                          uint32_t *next, uint32_t *order) {
  uint32_t ng = 0;
  uint32_t open[OPEN_MAX]; // group indexes
  uint32_t last[OPEN_MAX]; // their last member
  uint32_t nopen = 0;
  // next[] holds each packet's payload (or OFFLOAD_NO_NEXT: not coalescable) until the packet is
  // visited; it is only linked after that, so the checksum is verified once per packet.
  for (uint32_t i = 0; i < n; i++) {
    uint32_t thl = 0, payload = 0;
    next[i] = coalescable(pkts[i], lens[i], &thl, &payload) ? payload : OFFLOAD_NO_NEXT;
  }
  write_order(pkts, lens, next, n, order);
  for (uint32_t pos = 0; pos < n; pos++) {
    uint32_t i = order[pos];
    const uint8_t *p = pkts[i];
    int ok = next[i] != OFFLOAD_NO_NEXT;
    uint32_t payload = ok ? next[i] : 0;
    uint32_t thl = ok ? (uint32_t)(p[32] >> 4) * 4 : 0;
    next[i] = OFFLOAD_NO_NEXT;
    int is_tcp = lens[i] >= 24 && (p[0] >> 4) == 4 && p[9] == IPPROTO_TCP_;
    // A TCP packet with IP options (its ports are not at offset 20) closes every open group between
    // its addresses: nothing of its flow may be written after it that was queued before it.
    if (is_tcp && p[0] != 0x45) {
      for (uint32_t j = nopen; j-- > 0;) {
        if (memcmp(pkts[last[j]] + 12, p + 12, 8) != 0) continue;
        memmove(open + j, open + j + 1, sizeof open[0] * (nopen - j - 1));
        memmove(last + j, last + j + 1, sizeof last[0] * (nopen - j - 1));
        nopen--;
      }
    }
    // The open group of this packet's flow, if any.
    uint32_t k = nopen;
    for (uint32_t j = 0; is_tcp && j < nopen; j++) {
      if (same_flow(pkts[last[j]], p)) {
        k = j;
        break;
      }
    }
    if (k < nopen) {
      offload_group_t *g = &groups[open[k]];
      const uint8_t *lp = pkts[last[k]];
      uint32_t l_payload = lens[last[k]] - 20 - (uint32_t)(lp[32] >> 4) * 4;
      int fits = ok && g->count < OFFLOAD_GROUP_MAX_SEGS && payload <= g->gso_size &&
                 l_payload == g->gso_size && !(lp[33] & TCP_PSH) && mergeable(lp, p, thl) &&
                 be32(p + 24) == be32(lp + 24) + l_payload &&
                 20 + thl + (uint64_t)g->payload + payload <= 0xffff;
      if (fits) {
        next[last[k]] = i;
        last[k] = i;
        g->count++;
        g->payload += payload;
        continue;
      }
      // Close it: whatever this packet becomes is written after the group (in write order).
      open[k] = open[nopen - 1];
      last[k] = last[nopen - 1];
      nopen--;
    }
    offload_group_t *g = &groups[ng];
    g->first = i;
    g->count = 1;
    g->gso_size = ok ? payload : 0;
    g->payload = ok ? payload : 0;
    if (ok) {
      if (nopen == OPEN_MAX) { // close the oldest
        memmove(open, open + 1, sizeof open[0] * (OPEN_MAX - 1));
        memmove(last, last + 1, sizeof last[0] * (OPEN_MAX - 1));
        nopen--;
      }
      open[nopen] = ng;
      last[nopen] = i;
      nopen++;
    }
    ng++;
  }
  return ng;
}

void offload_group_header(uint8_t *first, const uint8_t *last, const offload_group_t *g, uint8_t *vnet) {
  uint32_t thl = (uint32_t)(first[32] >> 4) * 4;
  uint32_t total = 20 + thl + g->payload;
  put_be16(first + 2, (uint16_t)total);
  first[10] = first[11] = 0;
  store16(first + 10, csum_finish(csum_add(0, first, 20)));
  first[33] |= last[33] & TCP_PSH;
  // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum (not complemented); the kernel
  // takes the rest as verified for local delivery and completes it per segment if it forwards.
  uint64_t sum = csum_add(0, first + 12, 8);
  sum += htons(IPPROTO_TCP_);
  sum += htons((uint16_t)(total - 20));
  store16(first + 36, (uint16_t)~csum_finish(sum));
  uint16_t v[4] = {(uint16_t)(20 + thl), (uint16_t)g->gso_size, 20, 16};
  vnet[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vnet[1] = VIRTIO_NET_HDR_GSO_TCPV4;
  memcpy(vnet + 2, v, sizeof v); // hdr_len, gso_size, csum_start, csum_offset: host order
}
