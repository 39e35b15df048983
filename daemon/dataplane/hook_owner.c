// SPDX-License-Identifier: MIT
#include "hook_owner.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

static bool meets(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (a[i] == b[j])
				return true;
	return false;
}

enum lb_hook_whose lb_hook_whose_decide(bool lbd_prog, const uint32_t *prog_maps, size_t n,
					const struct lb_pinned_maps *self,
					const struct lb_pinned_maps *others, size_t n_others,
					size_t *other)
{
	size_t i;

	if (!lbd_prog)
		return LB_HOOK_FOREIGN;
	if (meets(prog_maps, n, self->ids, self->n))
		return LB_HOOK_OURS;
	for (i = 0; i < n_others; i++) {
		if (meets(prog_maps, n, others[i].ids, others[i].n)) {
			*other = i;
			return LB_HOOK_OTHER;
		}
	}
	/*
	 * Its lbd is gone and so are its pins (removed by hand, or a bpffs mounted anew):
	 * nobody can adopt or tear it down any more, and it serves maps nobody writes.
	 */
	return LB_HOOK_ORPHAN;
}

static int push_id(uint32_t **ids, size_t *n, uint32_t id)
{
	uint32_t *grown = realloc(*ids, (*n + 1) * sizeof(**ids));

	if (!grown)
		return -ENOMEM;
	grown[(*n)++] = id;
	*ids = grown;
	return 0;
}

/*
 * The ids of the maps pinned in @dir. libbpf pins them by name (lb_*); the programs and
 * links that mark attached interfaces are tc_* and xdp_* (dataplane.c).
 */
static int pinned_map_ids(const char *dir, uint32_t **ids, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0;

	*ids = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(d))) {
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);
		int fd;

		if (strncmp(de->d_name, "lb_", 3) ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			ret = push_id(ids, n, info.id);
		close(fd);
	}
	closedir(d);
	return ret;
}

/* Is program @prog_id one of lbd's, and the ids of the maps it uses. */
static int prog_maps(uint32_t prog_id, bool *lbd_prog, uint32_t **ids, size_t *n)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info), nr;
	int fd, ret = 0;

	*ids = NULL;
	*n = 0;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		ret = -errno;
		goto out;
	}
	*lbd_prog = !strcmp(info.name, "lb_xdp_ingress") || !strcmp(info.name, "lb_tc_ingress") ||
		    !strcmp(info.name, "lb_tc_egress");
	nr = info.nr_map_ids;
	if (!*lbd_prog || !nr)
		goto out;
	*ids = calloc(nr, sizeof(**ids));
	if (!*ids) {
		ret = -ENOMEM;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	info.nr_map_ids = nr;
	info.map_ids = (__u64)(unsigned long)*ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		ret = -errno;
		goto out;
	}
	*n = info.nr_map_ids < nr ? info.nr_map_ids : nr;
out:
	close(fd);
	return ret;
}

int lb_hook_whose(uint32_t prog_id, const char *pin_dir, char *other, size_t otherlen)
{
	char root[PATH_MAX], path[PATH_MAX];
	struct lb_pinned_maps self = {0}, *others = NULL, *grown;
	uint32_t *maps = NULL, *ids;
	size_t n_maps, n_others = 0, i, which = 0;
	const char *instance;
	struct dirent *de;
	bool lbd_prog = false;
	char *slash;
	DIR *d;
	int ret;

	ret = prog_maps(prog_id, &lbd_prog, &maps, &n_maps);
	if (ret || !lbd_prog) {
		free(maps);
		return ret ?: LB_HOOK_FOREIGN;
	}
	snprintf(root, sizeof(root), "%s", pin_dir);
	slash = strrchr(root, '/');
	if (!slash) {
		free(maps);
		return -EINVAL;
	}
	*slash = '\0';
	instance = slash + 1;
	self.instance = instance;
	ret = pinned_map_ids(pin_dir, &ids, &self.n);
	self.ids = ids;
	/* The other instances of this bpffs: lbd cannot see those of another mount. */
	d = ret ? NULL : opendir(root);
	while (d && !ret && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, instance) ||
		    snprintf(path, sizeof(path), "%s/%s", root, de->d_name) >= (int)sizeof(path))
			continue;
		grown = realloc(others, (n_others + 1) * sizeof(*others));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		others = grown;
		memset(&others[n_others], 0, sizeof(*others));
		others[n_others].instance = strdup(de->d_name);
		if (!others[n_others++].instance) {
			ret = -ENOMEM;
			break;
		}
		/* A folder that cannot be read pins nothing this lbd could tell apart. */
		if (pinned_map_ids(path, &ids, &others[n_others - 1].n) == -ENOMEM)
			ret = -ENOMEM;
		others[n_others - 1].ids = ids;
	}
	if (d)
		closedir(d);
	if (!ret) {
		ret = lb_hook_whose_decide(true, maps, n_maps, &self, others, n_others, &which);
		if (ret == LB_HOOK_OTHER)
			snprintf(other, otherlen, "%s", others[which].instance);
	}
	for (i = 0; i < n_others; i++) {
		free((char *)others[i].instance);
		free((uint32_t *)others[i].ids);
	}
	free(others);
	free((uint32_t *)self.ids);
	free(maps);
	return ret;
}
