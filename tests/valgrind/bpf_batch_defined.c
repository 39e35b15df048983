/*
 * LD_PRELOAD shim for lbd under valgrind (scripts/test-valgrind.sh): valgrind 3.19 does
 * not know BPF_MAP_LOOKUP_BATCH ("WARNING: unhandled eBPF command 24"), so the keys and
 * values the kernel writes into lbd's buffers stay "uninitialised" for memcheck, and every
 * later use of a conntrack entry or map image (sorting, formatting, passing a key back to
 * bpf(2)) is reported: thousands of false errors at dozens of sites, which no narrow
 * suppression can cover. This wrapper does what valgrind does for the commands it knows:
 * after the call it marks as defined exactly what the kernel wrote, *count keys and
 * values and the 4-byte batch position (a bucket index for hash maps, a 4-byte key for
 * arrays). Nothing else changes: the call, its result and errno are libbpf's.
 * Outside valgrind the client request is a no-op.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <valgrind/memcheck.h>

typedef int (*batch_fn)(int fd, void *in_batch, void *out_batch, void *keys, void *values,
			__u32 *count, const struct bpf_map_batch_opts *opts);

static void mark_written(int fd, void *out_batch, void *keys, void *values, __u32 count)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	size_t vs;
	int cpus;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	vs = info.value_size;
	switch (info.type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		cpus = libbpf_num_possible_cpus();
		vs = ((vs + 7) & ~(size_t)7) * (cpus > 0 ? cpus : 1);
		break;
	default:
		break;
	}
	if (out_batch)
		VALGRIND_MAKE_MEM_DEFINED(out_batch, 4);
	if (count && keys)
		VALGRIND_MAKE_MEM_DEFINED(keys, (size_t)count * info.key_size);
	if (count && values)
		VALGRIND_MAKE_MEM_DEFINED(values, (size_t)count * vs);
}

static int wrap(const char *name, int fd, void *in_batch, void *out_batch, void *keys, void *values,
		__u32 *count, const struct bpf_map_batch_opts *opts)
{
	batch_fn real = (batch_fn)dlsym(RTLD_NEXT, name);
	int ret, err;

	if (!real) {
		errno = ENOSYS;
		return -ENOSYS;
	}
	ret = real(fd, in_batch, out_batch, keys, values, count, opts);
	err = errno;
	/* Success, or ENOENT: the last *count entries were returned. */
	if (!ret || err == ENOENT)
		mark_written(fd, out_batch, keys, values, *count);
	errno = err;
	return ret;
}

int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values,
			 __u32 *count, const struct bpf_map_batch_opts *opts)
{
	return wrap("bpf_map_lookup_batch", fd, in_batch, out_batch, keys, values, count, opts);
}

int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys,
				    void *values, __u32 *count,
				    const struct bpf_map_batch_opts *opts)
{
	return wrap("bpf_map_lookup_and_delete_batch", fd, in_batch, out_batch, keys, values, count,
		    opts);
}
