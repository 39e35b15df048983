/* SPDX-License-Identifier: MIT */
/*
 * lb_fdrec.h - records of open files handed from one lbd to the next: a JSON description,
 * an optional blob (bytes lbd held for the object) and up to LB_FDREC_MAX_FDS descriptors,
 * sent over a Unix stream socket with SCM_RIGHTS (lbd --takeover).
 *
 * On the wire a record is a 16-byte header (magic, JSON length, blob length, number of
 * descriptors), sent with the descriptors as ancillary data, then the JSON text and the
 * blob. Both ends block, bounded by the socket's SO_RCVTIMEO/SO_SNDTIMEO.
 */
#ifndef LB_FDREC_H
#define LB_FDREC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define LB_FDREC_MAX_FDS  8
#define LB_FDREC_MAX_JSON (1u << 20)
#define LB_FDREC_MAX_BLOB (16u << 20)

struct lb_fdrec {
	json_t *meta; /* an object; "kind" says what the record is */
	uint8_t *blob;
	size_t blob_len;
	int fds[LB_FDREC_MAX_FDS]; /* a taker sets an entry to -1 to keep the descriptor */
	size_t n_fds;
};

/* Send @r on @sock. 0, or -errno (-EMSGSIZE for a record over the limits). */
int lb_fdrec_send(int sock, const struct lb_fdrec *r);

/*
 * Receive one record from @sock into @r (release it with lb_fdrec_release()): its
 * descriptors arrive close-on-exec. 0, -ECONNRESET at end of stream, -EPROTO for bytes
 * that are not a record, or another -errno.
 */
int lb_fdrec_recv(int sock, struct lb_fdrec *r);

/* Close the descriptors still in @r, free its JSON and blob. */
void lb_fdrec_release(struct lb_fdrec *r);

/* The descriptor @i of @r, now the caller's (-1 when there is none). */
int lb_fdrec_take_fd(struct lb_fdrec *r, size_t i);

#endif /* LB_FDREC_H */
