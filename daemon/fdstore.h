/* SPDX-License-Identifier: MIT */
/*
 * fdstore.h - SNI connections kept in systemd's file-descriptor store across a restart
 * (FileDescriptorStoreMax=, FDSTORE=1): `systemctl restart lbd`, and a crash restart
 * (Restart=on-failure).
 *
 * While it runs, lbd keeps each SNI acceptor's listening socket in the store
 * ("lbd-acc-PROXY"), so a crash restart finds them: the kernel queues new connections on
 * them while no lbd runs, none is refused. At a stop (SIGTERM) lbd freezes as for a
 * hand-over (handover.h) and stores every record the next lbd needs: each descriptor as
 * "lbd-fd-N", and the records themselves (their JSON and bytes, naming the descriptors)
 * in a memfd, "lbd-state"; the sockmap's maps are among them, so the kernel keeps
 * forwarding spliced pairs while no lbd runs (copied pairs too: lb_splicer_park() puts
 * them into the sockmap first). The next lbd reads them back as if they had
 * been handed over, and takes them out of the store (leaving the listeners in): a socket
 * left in the store would outlive every close.
 *
 * Only what a stop saved can continue: a crash loses the spliced connections (their state
 * died with the process); its listeners survive. systemd closes the store when the
 * service stops for good (systemd 252 keeps it across `systemctl restart` and automatic
 * restarts, not across a stop followed later by a start).
 */
#ifndef LBD_FDSTORE_H
#define LBD_FDSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "handover.h"
#include "lbd.h"
#include "systemd.h"

/* Is there a store (under systemd, with FileDescriptorStoreMax=)? */
bool lbd_fdstore_enabled(void);

/* An SNI acceptor's listening socket @fd opened (-1: closed): keep it in the store. */
void lbd_fdstore_listener(void *ctx, const char *proxy, int fd);

/* The state of frozen, settled @l into the store. 0, or -errno with a sentence in @err. */
int lbd_fdstore_save(struct lbd *l, char *err, size_t errlen);

/*
 * What a previous lbd stored, from the @n descriptors systemd passed (those named
 * "lbd-..." are taken: set to -1), into @t as if handed over. Returns the number of
 * records, or -errno with a sentence in @err (the descriptors are then closed).
 */
int lbd_fdstore_load(struct lb_sd_fd *fds, size_t n, const char *socket_path,
		     struct lbd_takeover *t, char *err, size_t errlen);

#endif /* LBD_FDSTORE_H */
