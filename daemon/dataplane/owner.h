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

/* True while the instance folder @dir_fd still exists (nobody removed it under us). */
bool lb_owner_present(int dir_fd);

#endif /* LBD_OWNER_H */
