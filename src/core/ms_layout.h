/* The CubeFS master's key layout and compact binary records.
 *
 * Keys are the CubeFS master's own (master/metadata_fsm_op.go: ids in plain
 * decimal, strconv.FormatUint(id, 10), no padding; master/const.go for the
 * prefixes). Byte order is the order of the decimal strings, not of the ids:
 * "#vol#1" < "#vol#10" < "#vol#100" < "#vol#2" (ms_layout_id_cmp), which is
 * the order a snapshot streams them and a prefix scan meets them. The
 * trailing '#' makes "#dp#<vol>#" a prefix of exactly that vol's dps:
 *   #vol#<vol>          volume record           ms_layout_vol
 *   #dp#<vol>#<dp>      data partition record   ms_layout_part (kind dp)
 *   #mp#<vol>#<mp>      meta partition record   ms_layout_part (kind mp)
 *   #dn#<id>#<addr>     data node record        ms_layout_node
 *   #mn#<id>#<addr>     meta node record        ms_layout_node
 *   #user#<uid>         user record             ms_layout_user
 *   #c#<cluster>        cluster record          ms_layout_cluster
 *   #max_dp_id, #max_mp_id, #max_common_id      id allocators (u64)
 *   applied             the raft index the store reflects (u64)
 * Every '#' key sorts before "applied", so a key-ordered stream ends with it.
 *
 * Records (format 2, compact): a head byte (the format, 2, in its high
 * nibble and the kind in its low one), then the fields in order: u8 fields (status, type) as one
 * byte; integers (ids, counters, sizes, zone) as unsigned LEB128 varints in their shortest form (a
 * u32 field rejects values above 2^32 - 1); strings as a varint length
 * (<= 65535) and the bytes; id lists as a varint count, the first id as a
 * varint and each next one as the zig-zag varint of its difference from the
 * one before (mod 2^64, so any list round-trips; ascending lists of nearby
 * ids take a byte or two an id). A generated partition record is 11-20
 * bytes (63 in format 1, which had fixed 8-byte fields and raw u64 ids).
 * Encoders return the size needed and write only when it fits in cap
 * (snprintf-style). Decoders check every length against the input, reject
 * non-shortest varints, varints past 64 bits and trailing bytes, and return
 * -1 on any malformed input without reading out of bounds; so an accepted
 * record re-encodes to exactly its bytes. Decoded strings and id lists
 * point into the input; an id list is read through ms_layout_ids_cur. */
#ifndef MS_LAYOUT_H
#define MS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MS_LAYOUT_KEY_MAX 96           /* buffer size for any key built here */
#define MS_LAYOUT_ID_MAX 9999999999ULL /* ids in keys: at most 10 digits */
#define MS_LAYOUT_ID_DIGITS 10         /* the digits of MS_LAYOUT_ID_MAX */
#define MS_LAYOUT_NAME_MAX 64          /* longest addr / uid / cluster name in a key */
#define MS_LAYOUT_KEY_APPLIED "applied"
#define MS_LAYOUT_KEY_MAX_DP "#max_dp_id"
#define MS_LAYOUT_KEY_MAX_MP "#max_mp_id"
#define MS_LAYOUT_KEY_MAX_COMMON "#max_common_id"
#define MS_LAYOUT_PREFIX_VOL "#vol#"
#define MS_LAYOUT_PREFIX_USER "#user#"
#define MS_LAYOUT_PREFIX_CLUSTER "#c#"
#define MS_LAYOUT_FORMAT 2 /* the high nibble of every record's head byte */
/* The head byte of a record of kind k. */
#define MS_LAYOUT_HEAD(k) (MS_LAYOUT_FORMAT << 4 | (k))

typedef enum ms_layout_kind {
    MS_REC_VOL = 1,
    MS_REC_DP = 2,
    MS_REC_MP = 3,
    MS_REC_DATANODE = 4,
    MS_REC_METANODE = 5,
    MS_REC_USER = 6,
    MS_REC_CLUSTER = 7
} ms_layout_kind;

/* A list of u64 ids: either an array (v, for encoding) or, in a decoded
 * record, its encoded ids (enc, enc_len bytes after the count; already
 * checked by the decoder, which also sets last), read with
 * ms_layout_ids_cur. */
typedef struct ms_layout_ids {
    uint32_t n;
    const uint64_t *v;
    const unsigned char *enc;
    size_t enc_len;
    uint64_t last; /* decoded lists: the last id (0 when empty) */
} ms_layout_ids;

/* The list of the n ids at v, for encoding. */
static inline ms_layout_ids ms_layout_ids_array(uint32_t n, const uint64_t *v) {
    ms_layout_ids ids = {n, v, NULL, 0, 0};
    return ids;
}

/* A cursor over an id list, in order: ms_layout_ids_begin, then
 * ms_layout_ids_next until it returns 0. */
typedef struct ms_layout_ids_cur {
    const uint64_t *v;
    const unsigned char *p, *end;
    uint64_t prev;
    uint32_t i, n;
} ms_layout_ids_cur;

typedef struct ms_layout_str {
    const char *p;
    uint16_t len;
} ms_layout_str;

typedef struct ms_layout_vol {
    uint64_t id;
    uint64_t capacity; /* bytes */
    uint8_t status;
    ms_layout_str name;
    ms_layout_str owner; /* uid */
    ms_layout_ids mps;   /* meta partition ids, the source of truth */
    ms_layout_ids dps;   /* data partition ids, the source of truth */
} ms_layout_vol;

/* A data or meta partition (kind MS_REC_DP / MS_REC_MP). */
typedef struct ms_layout_part {
    uint8_t kind;
    uint8_t status;
    uint64_t id;
    uint64_t vol;
    uint64_t start, end; /* inode range (mp); 0 for dp */
    ms_layout_ids hosts; /* replica node ids */
} ms_layout_part;

/* A data or meta node (kind MS_REC_DATANODE / MS_REC_METANODE). */
typedef struct ms_layout_node {
    uint8_t kind;
    uint64_t id;
    uint32_t zone;
    uint64_t total, used; /* bytes */
    ms_layout_str addr;
} ms_layout_node;

typedef struct ms_layout_user {
    uint8_t type;
    ms_layout_str uid;
    ms_layout_ids vols; /* owned vol ids */
} ms_layout_user;

/* The cluster record: how many of each there are, and the allocators, so a
 * list can tell a complete answer from an empty or partial one. */
typedef struct ms_layout_cluster {
    ms_layout_str name;
    uint64_t vols, dps, mps, data_nodes, meta_nodes, users;
    uint64_t max_dp_id, max_mp_id, max_common_id;
} ms_layout_cluster;

/* --- keys: each writes into buf (>= MS_LAYOUT_KEY_MAX bytes, NUL-terminated)
 * and returns the key length, or 0 when an id exceeds MS_LAYOUT_ID_MAX or a
 * name exceeds MS_LAYOUT_NAME_MAX. --- */

size_t ms_layout_key_vol(char *buf, uint64_t vol);
size_t ms_layout_key_dp(char *buf, uint64_t vol, uint64_t dp);
size_t ms_layout_key_mp(char *buf, uint64_t vol, uint64_t mp);
/* "#dp#<vol>#" / "#mp#<vol>#": the prefix of one vol's partitions. */
size_t ms_layout_key_dp_prefix(char *buf, uint64_t vol);
size_t ms_layout_key_mp_prefix(char *buf, uint64_t vol);
/* "#dn#<id>#<addr>" / "#mn#<id>#<addr>"; addr NULL builds the prefix
 * "#dn#<id>#" that finds a node by id alone. */
size_t ms_layout_key_dn(char *buf, uint64_t id, const char *addr);
size_t ms_layout_key_mn(char *buf, uint64_t id, const char *addr);
size_t ms_layout_key_user(char *buf, const char *uid);
size_t ms_layout_key_cluster(char *buf, const char *name);

extern const uint64_t ms_layout_pow10[20]; /* 10^i for i = 0..19 */

/* The number of decimal digits of id (1 for 0): log2 by the leading zeros,
 * times log10(2) (1233 / 4096), then one compare. */
static inline unsigned ms_layout_id_digits(uint64_t id) {
    unsigned t = (unsigned)(64 - __builtin_clzll(id | 1)) * 1233 >> 12;
    return t + ((id | 1) >= ms_layout_pow10[t]);
}
/* <0, 0, >0 as the decimal string of a sorts before, with, after b's: the
 * byte order of keys that differ only in that id (1 < 10 < 100 < 2). */
int ms_layout_id_cmp(uint64_t a, uint64_t b);

/* The id after "#vol#" in a vol key (1-10 digits, no leading zero, at most
 * MS_LAYOUT_ID_MAX), or -1 when key is not a vol key in that form. */
int ms_layout_parse_vol_key(const void *key, size_t len, uint64_t *vol);

/* --- values --- */

/* A u64 value (allocators, applied): 8 bytes little-endian. Decode fails
 * unless n == 8. */
void ms_layout_u64_encode(unsigned char buf[8], uint64_t v);
int ms_layout_u64_decode(const void *p, size_t n, uint64_t *v);

void ms_layout_ids_begin(ms_layout_ids_cur *c, const ms_layout_ids *ids);
/* 1 and the next id in *id, or 0 after the last (or on bytes the decoder
 * would have refused: a cursor never reads past enc + enc_len). */
int ms_layout_ids_next(ms_layout_ids_cur *c, uint64_t *id);
/* All ids->n ids into out (room for ids->n); 0, or -1 when the list does
 * not decode to ids->n ids. */
int ms_layout_ids_copy(const ms_layout_ids *ids, uint64_t *out);

/* An id list that is strictly ascending, split into its runs of ids with
 * the same number of digits. A prefix scan meets a vol's partition keys in
 * decimal-string order, which interleaves the runs; within a run it is
 * numeric order. So a reader walking the keys compares each key's id with
 * the head of its digit count's run (head[d], has[d] for d digits) and
 * advances that run (ms_layout_ids_runs_next). */
#define MS_LAYOUT_ID_RUNS 21 /* digit counts 1..20 */
typedef struct ms_layout_ids_runs {
    ms_layout_ids_cur cur[MS_LAYOUT_ID_RUNS]; /* just past the head */
    uint64_t head[MS_LAYOUT_ID_RUNS];
    uint8_t has[MS_LAYOUT_ID_RUNS];
} ms_layout_ids_runs;

/* 0, or -1 when the list is not strictly ascending or does not decode. */
int ms_layout_ids_runs_begin(ms_layout_ids_runs *r, const ms_layout_ids *ids);
/* Drop the head of the run of ids with d digits (1..20, as
 * ms_layout_id_digits gives). */
void ms_layout_ids_runs_next(ms_layout_ids_runs *r, unsigned d);
/* 1 when some run has a head left. */
int ms_layout_ids_runs_any(const ms_layout_ids_runs *r);

size_t ms_layout_vol_encode(const ms_layout_vol *r, void *buf, size_t cap);
int ms_layout_vol_decode(const void *p, size_t n, ms_layout_vol *r);
/* ms_layout_vol_encode of r with dp appended to its dps: a create_dp
 * without decoding and re-encoding the whole list (r as decoded). */
size_t ms_layout_vol_encode_add_dp(const ms_layout_vol *r, uint64_t dp, void *buf, size_t cap);
size_t ms_layout_part_encode(const ms_layout_part *r, void *buf, size_t cap);
int ms_layout_part_decode(const void *p, size_t n, ms_layout_part *r);
/* The acceptance test of ms_layout_part_decode (0 iff it returns 0), giving
 * only the id and vol fields (either may be NULL): for readers that need a
 * partition's presence and id, not its hosts. */
int ms_layout_part_check(const void *p, size_t n, uint64_t *id, uint64_t *vol);
size_t ms_layout_node_encode(const ms_layout_node *r, void *buf, size_t cap);
int ms_layout_node_decode(const void *p, size_t n, ms_layout_node *r);
size_t ms_layout_user_encode(const ms_layout_user *r, void *buf, size_t cap);
int ms_layout_user_decode(const void *p, size_t n, ms_layout_user *r);
size_t ms_layout_cluster_encode(const ms_layout_cluster *r, void *buf, size_t cap);
int ms_layout_cluster_decode(const void *p, size_t n, ms_layout_cluster *r);

/* The bytes the value under key took in format 1 (fixed-width fields, raw
 * u64 id lists): vlen when key is not a record's key or the value does not
 * decode as that record. The model charges a snapshot stream at these sizes
 * (docs/cubefs.md): the simulated time of a transfer stays what it was
 * before the store held compact records. */
size_t ms_layout_v1_size(const void *key, size_t klen, const void *val, size_t vlen);

#endif
