/* SPDX-License-Identifier: MIT */
/*
 * hook_owner.h - which lbd instance runs the program found on an interface's hook.
 *
 * Every instance attaches at the same tc handle and priority (and XDP has one slot), with
 * programs of the same names, so a name says only that some lbd put the program there.
 * The maps it uses say which: an instance's maps are pinned in its folder
 * (<bpffs>/lbd/<instance>/) and keep their ids across its restarts and hand-overs, while
 * its programs are loaded anew by every lbd.
 */
#ifndef LBD_HOOK_OWNER_H
#define LBD_HOOK_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lb_hook_whose {
	LB_HOOK_FOREIGN, /* not an lbd program: never replaced nor removed */
	LB_HOOK_OURS,	 /* uses this instance's pinned maps: this lbd's or an earlier one's */
	LB_HOOK_OTHER,	 /* uses maps another instance pins: that instance serves the hook */
	LB_HOOK_ORPHAN,	 /* an lbd program whose maps no instance pins any more */
};

/* The maps one instance has pinned. */
struct lb_pinned_maps {
	const char *instance;
	const uint32_t *ids;
	size_t n;
};

/*
 * The decision alone: a program named as lbd's (@lbd_prog) using the maps @prog_maps
 * (@n ids) belongs to @self, to one of @others (its index in *@other), or to nobody.
 */
enum lb_hook_whose lb_hook_whose_decide(bool lbd_prog, const uint32_t *prog_maps, size_t n,
					const struct lb_pinned_maps *self,
					const struct lb_pinned_maps *others, size_t n_others,
					size_t *other);

/*
 * Ask the kernel about program @prog_id, found on a hook, for the instance pinned at
 * @pin_dir (<bpffs>/lbd/<instance>; the other instances are its sibling folders).
 * Returns an enum lb_hook_whose, with the other instance's name in @other (@otherlen
 * bytes) for LB_HOOK_OTHER, or -errno when the program cannot be read (-EPERM: reading
 * a program by id takes CAP_SYS_ADMIN).
 */
int lb_hook_whose(uint32_t prog_id, const char *pin_dir, char *other, size_t otherlen);

#endif /* LBD_HOOK_OWNER_H */
