/* SPDX-License-Identifier: MIT */
/*
 * owner.h - one lbd per datapath instance.
 *
 * An instance (a pin folder <bpffs>/lbd/<instance>) belongs to the lbd holding an
 * exclusive flock on that folder, taken before any pinned object is read and held until
 * the process ends. The holder writes its pid and control socket into the pinned lb_owner
 * map, so a second lbd (or `lbd --teardown`) refuses with a sentence naming it instead of
 * rewriting a datapath another lbd owns.
 */
#ifndef LBD_OWNER_H
#define LBD_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Lock the instance folder @pin_dir, waiting up to @wait_ms for its holder to let go (a
 * hand-over). Returns the open folder (keep it open: closing it releases the lock), or
 * -EBUSY with a sentence in @err naming the holder, what this lbd could not do (@what)
 * and what to do about it (@hint), or another -errno.
 */
int lb_owner_lock(const char *pin_dir, int wait_ms, const char *what, const char *hint, char *err,
		  size_t errlen);

/* Write who holds the instance (this process, @socket) into the pinned map @owner_fd. */
int lb_owner_publish(int owner_fd, const char *socket);

/* The node's state kept with the instance (lb_owner_rec), for announce.h. */
struct lb_node_state {
	bool maintenance;	   /* lbctl node drain: announce nothing */
	uint32_t announce_table;   /* where the announcements are; 0: none */
	uint8_t announce_protocol; /* their route protocol number */
};

/* Read or write it in the pinned map @owner_fd (publish keeps it). 0 or -errno. */
int lb_owner_node_get(int owner_fd, struct lb_node_state *out);
int lb_owner_node_set(int owner_fd, const struct lb_node_state *s);
/* The same from the instance folder @pin_dir (all zero when it cannot be read). */
int lb_owner_node_read(const char *pin_dir, struct lb_node_state *out);

/* True while the instance folder @dir_fd still exists (nobody removed it under us). */
bool lb_owner_present(int dir_fd);

#endif /* LBD_OWNER_H */
