/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ebpfpp/usdt.h -- reading USDT probe arguments in a program attached with
 * ebpf::program::attach_usdt() (or program::attach() on SEC("usdt/<path>:<provider>:<name>")).
 *
 *   #include <ebpfpp/bpf.h>
 *   #include <ebpfpp/usdt.h>
 *
 *   SEC("usdt")
 *   int on_request(struct pt_regs *ctx) {
 *     long id, size;
 *     if (bpf_usdt_arg(ctx, 0, &id) || bpf_usdt_arg(ctx, 1, &size)) return 0;
 *     ...
 *   }
 *
 * How it works: a USDT probe's arguments live wherever the compiler put them at that call site
 * ("-4@%edi 8@-8(%rbp) 4@$5": a register, memory relative to a register, a constant). The
 * attach call parses those specs from the binary's .note.stapsdt and stores one record per site
 * in the map `ebpfpp_usdt` declared below, keyed by the BPF cookie it gives that site's uprobe.
 * bpf_usdt_arg() looks the record up with bpf_get_attach_cookie() (kernel 5.15) and fetches the
 * value from the saved registers (struct pt_regs) or user memory, then narrows and sign-extends
 * it to the argument's size. The idea is libbpf's usdt.bpf.h; the layout is ours and must match
 * lib/object/usdt_note.cpp (encode_usdt_spec), which the attach call checks by value size.
 *
 * Define EBPFPP_USDT_MAX_SPECS before including to allow more probe sites per object (256).
 * Only x86-64 argument specs are supported (the attach call refuses other machines).
 */
#ifndef EBPFPP_USDT_H
#define EBPFPP_USDT_H

#include "bpf.h"

#ifndef EBPFPP_USDT_MAX_SPECS
#define EBPFPP_USDT_MAX_SPECS 256
#endif
#define EBPFPP_USDT_MAX_ARGS 12
/* Slots in a spec: a power of two, so that `n & 15` bounds an index the verifier must trust. */
#define EBPFPP_USDT_ARG_SLOTS 16

enum ebpfpp_usdt_arg_kind {
	EBPFPP_USDT_ARG_CONST = 0,   /* value_or_offset */
	EBPFPP_USDT_ARG_REG = 1,     /* the register at reg_offset in pt_regs */
	EBPFPP_USDT_ARG_DEREF = 2,   /* *(reg + value_or_offset) */
	EBPFPP_USDT_ARG_SIB = 3,     /* *(reg + (index_reg << scale_shift) + value_or_offset) */
};

struct ebpfpp_usdt_arg {
	__s64 value_or_offset;
	__u16 reg_offset;       /* offsetof(struct pt_regs, <register>) */
	__u16 index_reg_offset; /* EBPFPP_USDT_ARG_SIB */
	__u8 kind;              /* enum ebpfpp_usdt_arg_kind */
	__u8 size;              /* 1, 2, 4 or 8 bytes */
	__u8 is_signed;
	__u8 scale_shift;
};

struct ebpfpp_usdt_spec {
	struct ebpfpp_usdt_arg args[EBPFPP_USDT_ARG_SLOTS]; /* the first arg_count are used */
	__u64 cookie; /* usdt_options::cookie */
	__u16 arg_count;
	__u16 pad[3];
};

_Static_assert(sizeof(struct ebpfpp_usdt_arg) == 16, "ebpfpp_usdt_arg layout");
_Static_assert(sizeof(struct ebpfpp_usdt_spec) == 272, "ebpfpp_usdt_spec layout");

/* One map per object; every USDT program of the object shares it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EBPFPP_USDT_MAX_SPECS);
	__type(key, __u32);
	__type(value, struct ebpfpp_usdt_spec);
} ebpfpp_usdt SEC(".maps");

static __always_inline const struct ebpfpp_usdt_spec *ebpfpp_usdt_spec_of(void *ctx)
{
	__u32 id = (__u32)bpf_get_attach_cookie(ctx);

	return (const struct ebpfpp_usdt_spec *)bpf_map_lookup_elem(&ebpfpp_usdt, &id);
}

/* The number of arguments of the probe that fired, -3 (-ESRCH) when this attachment has no spec
 * (not attached through attach_usdt), or -22 (-EINVAL) for a corrupt spec (a count above 12: a
 * record written by a library built for another layout). */
static __always_inline int bpf_usdt_arg_cnt(struct pt_regs *ctx)
{
	const struct ebpfpp_usdt_spec *spec = ebpfpp_usdt_spec_of(ctx);

	if (!spec)
		return -3;
	return spec->arg_count <= EBPFPP_USDT_MAX_ARGS ? spec->arg_count : -22;
}

/* usdt_options::cookie of this attachment (0 when there is no spec). */
static __always_inline __u64 bpf_usdt_cookie(struct pt_regs *ctx)
{
	const struct ebpfpp_usdt_spec *spec = ebpfpp_usdt_spec_of(ctx);

	return spec ? spec->cookie : 0;
}

/* Reads argument `n` (from 0) into *res, sign- or zero-extended from its size to 64 bits.
 * Returns 0, -2 (-ENOENT) when the probe has no such argument, -3 (-ESRCH) without a spec,
 * -22 (-EINVAL) for a corrupt spec, or the error of bpf_probe_read_kernel/_user (-14, -EFAULT,
 * when the memory is not paged in: the probe cannot fault it in). */
static __always_inline int bpf_usdt_arg(struct pt_regs *ctx, __u64 n, long *res)
{
	const struct ebpfpp_usdt_spec *spec = ebpfpp_usdt_spec_of(ctx);
	const struct ebpfpp_usdt_arg *arg;
	unsigned long val = 0, base = 0, index = 0, idx;
	__u32 size;
	int shift, err;

	*res = 0;
	if (!spec)
		return -3;
	if (spec->arg_count > EBPFPP_USDT_MAX_ARGS)
		return -22;
	if (n >= EBPFPP_USDT_MAX_ARGS || n >= spec->arg_count)
		return -2;
	/* The verifier must see the index bounded on the very register that indexes args[]. clang
	 * may check one copy of n and index with another (libbpf's usdt.bpf.h fights the same with
	 * barrier_var), and it drops a mask it can prove redundant; after the empty asm it can prove
	 * nothing, so the mask stays. */
	idx = n;
	asm volatile("" : "+r"(idx));
	arg = &spec->args[idx & (EBPFPP_USDT_ARG_SLOTS - 1)];
	size = arg->size;
	if (size == 0 || size > 8)
		return -22;

	switch (arg->kind) {
	case EBPFPP_USDT_ARG_CONST:
		val = (unsigned long)arg->value_or_offset;
		break;
	case EBPFPP_USDT_ARG_REG:
		/* ctx is the kernel's saved pt_regs; a variable offset into the context cannot be
		 * loaded directly, so read it like libbpf does. */
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_offset);
		if (err)
			return err;
		break;
	case EBPFPP_USDT_ARG_DEREF:
	case EBPFPP_USDT_ARG_SIB:
		err = bpf_probe_read_kernel(&base, sizeof(base), (void *)ctx + arg->reg_offset);
		if (err)
			return err;
		if (arg->kind == EBPFPP_USDT_ARG_SIB) {
			err = bpf_probe_read_kernel(&index, sizeof(index),
						    (void *)ctx + arg->index_reg_offset);
			if (err)
				return err;
			base += index << (arg->scale_shift & 3);
		}
		/* Read exactly `size` bytes (little-endian: they land in the low bytes of val), so a
		 * 1-byte argument at the end of a page never touches the next one. */
		err = bpf_probe_read_user(&val, size, (void *)(base + arg->value_or_offset));
		if (err)
			return err;
		break;
	default:
		return -22;
	}

	shift = 64 - 8 * size;
	if (shift > 0) {
		val <<= shift;
		if (arg->is_signed)
			val = (unsigned long)((long)val >> shift);
		else
			val >>= shift;
	}
	*res = (long)val;
	return 0;
}

#endif /* EBPFPP_USDT_H */
