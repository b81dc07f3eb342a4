// TUN offloads (IFF_VNET_HDR): turning what the kernel hands a TUN opened with TUN_F_CSUM|TUN_F_TSO4
// (and TUN_F_TSO6) into ordinary IPv4 and IPv6 packets. Used by tun.c on its read path and exported to JS for the unit tests
// (test/tun/offload.test.ts). Pure: bytes in, bytes out, no I/O.
#ifndef MESHD_OFFLOAD_H
#define MESHD_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

// The legacy virtio_net_hdr the TUN prefixes to every packet (TUNSETVNETHDRSZ default), host order.
enum { OFFLOAD_VNET_HDR_LEN = 10 };

// Why a read was dropped instead of delivered (negative results of offload_split).
enum {
  OFFLOAD_ERR_SHORT = -1,     // shorter than the virtio header, or IPv4/TCP headers cut off
  OFFLOAD_ERR_GSO_TYPE = -2,  // a GSO type we did not ask for (UDP)
  OFFLOAD_ERR_MALFORMED = -3, // TCP GSO whose IP or TCP header does not parse (v6: TCP not right after it)
  OFFLOAD_ERR_TOO_BIG = -4,   // a non-GSO packet longer than a slot
  OFFLOAD_ERR_CSUM = -5,      // NEEDS_CSUM with csum_start/csum_offset outside the packet
  OFFLOAD_ERR_MTU = -6,       // the MTU leaves no room for payload after the headers
};

// One read from the TUN (virtio_net_hdr + packet, `n` bytes) into ordinary IPv4 packets, each at
// most `mtu` bytes, written into slots (slot i at out + i*slot_size, length in lengths[i]), at most
// max_slots of them. A TCPv4 or TCPv6 GSO super-packet becomes MSS-sized segments (MSS = min(gso_size,
// mtu - headers)); a NEEDS_CSUM packet gets its checksum completed; anything else is copied as is.
// *next is the segment to start from (0 for a fresh read) and is set to the next segment still to
// emit, or 0 when the read is fully delivered; the caller keeps `in` intact until then.
// Returns the number of slots written (>= 0) or an OFFLOAD_ERR_* code (nothing delivered).
int offload_split(const uint8_t *in, size_t n, uint32_t mtu, uint8_t *out, uint32_t slot_size, uint32_t max_slots,
                  uint32_t *lengths, uint32_t *next);

// Write side (GRO): which of the packets queued for one flush can go to the kernel as one TCPv4
// GSO super-packet. First the write order: a data segment that may join a group moves back before
// the segments of its flow with higher sequence numbers queued before it (a segment a repair or a
// resend released late, after the ones that overtook it), at most 64 places and never past another
// packet of its flow (FIN, pure ACK, bad checksum...). Then, in that order, consecutive in-order
// segments of one flow (same addresses, ports, ack, window, TCP options; only ACK/PSH flags; equal
// sizes but a shorter last; valid TCP checksums) join one group, up to 64 segments and 65535
// bytes; everything else is a group of one. A flow's packets other than such data segments never
// overtake each other; different flows may interleave differently than queued.
typedef struct {
  uint32_t first;    // index of the first packet; the others follow through next[]
  uint32_t count;    // packets in the group (1: written as is, with a zero virtio_net_hdr)
  uint32_t gso_size; // payload bytes per segment (count > 1)
  uint32_t payload;  // payload bytes of all members
} offload_group_t;

enum { OFFLOAD_GROUP_MAX_SEGS = 64, OFFLOAD_NO_NEXT = 0xffffffffu };

// Groups n packets; groups[] (room for n) in write order, next[i] the member after packet i in its
// group or OFFLOAD_NO_NEXT; order[] (room for n) is scratch. Returns the number of groups. Reads
// the packets only.
uint32_t offload_coalesce(const uint8_t *const *pkts, const uint32_t *lens, uint32_t n, offload_group_t *groups,
                          uint32_t *next, uint32_t *order);

// For a group of count > 1: rewrites the first packet's headers in place into the super-packet's
// (IP total length and checksum, PSH if the last member had it, TCP checksum field = the pseudo-
// header partial sum) and fills vnet[OFFLOAD_VNET_HDR_LEN] (NEEDS_CSUM, GSO_TCPV4, gso_size). The
// super-packet is then the first packet followed by the payloads of the others.
void offload_group_header(uint8_t *first, const uint8_t *last, const offload_group_t *g, uint8_t *vnet);

#endif
