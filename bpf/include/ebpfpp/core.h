/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ebpfpp/core.h -- CO-RE ("compile once, run everywhere") reads and queries for eBPF programs.
 * Include it after <ebpfpp/bpf.h>:
 *
 *   #include <ebpfpp/bpf.h>
 *   #include <ebpfpp/core.h>
 *
 *   struct task_struct___mine { int pid; int tgid; struct task_struct___mine *real_parent; }
 *           __attribute__((preserve_access_index));
 *   ...
 *   struct task_struct___mine *task = (void *)bpf_get_current_task();
 *   int ppid = BPF_CORE_READ(task, real_parent, tgid);
 *
 * Every macro expands to a clang builtin that records a CO-RE relocation in .BTF.ext; the loader
 * (ebpf::object::load, or libbpf) recomputes the value against the running kernel's BTF before
 * the program is loaded. What a relocation is, and the rules the loader follows, are in
 * include/ebpf/core.hpp. Types only need the members the program uses, in any order; a "___suffix"
 * on a type name ("task_struct___old") is ignored when matching, so several local versions of one
 * kernel type can coexist. Mark them __attribute__((preserve_access_index)) so that plain member
 * accesses (p->x) are relocated too.
 *
 * What it provides (the names and semantics of libbpf's <bpf/bpf_core_read.h>, so code ports
 * both ways; this is our own implementation):
 *   reads through bpf_probe_read_kernel / _user:
 *     bpf_core_read(dst, size, src_address)       bpf_core_read_user(...)
 *     bpf_core_read_str(dst, size, src_address)   bpf_core_read_user_str(...)
 *     BPF_CORE_READ(src, a, b, ...)                pointer chain src->a->b->..., up to 9 levels,
 *                                                  each level may be a member path (a.b[2].c)
 *     BPF_CORE_READ_INTO(&dst, src, a, ...)        the same into dst; gives the last read's result
 *     BPF_CORE_READ_STR_INTO(dst, src, a, ...)     the last level read as a string
 *     BPF_CORE_READ_USER(...), BPF_CORE_READ_USER_INTO(...), BPF_CORE_READ_USER_STR_INTO(...):
 *                                                  the same from user memory (the types must
 *                                                  still be kernel types: UAPI structs)
 *     BPF_PROBE_READ(...), BPF_PROBE_READ_INTO(...), BPF_PROBE_READ_STR_INTO(...) and _USER_
 *                                                  variants: the same chains without relocation
 *   bitfields:
 *     BPF_CORE_READ_BITFIELD(s, field)             direct load (tp_btf, iterators, BTF pointers)
 *     BPF_CORE_READ_BITFIELD_PROBED(s, field)      through bpf_probe_read_kernel
 *     BPF_CORE_WRITE_BITFIELD(s, field, value)     direct store (struct_ops, ...)
 *   queries (constants after relocation; the verifier then prunes the dead branch):
 *     bpf_core_field_exists(p->f) / (type, f)      1 if the field exists in the kernel, else 0
 *     bpf_core_field_size(p->f) / (type, f)        its size in bytes
 *     bpf_core_field_offset(p->f) / (type, f)      its byte offset
 *     bpf_core_type_exists(type)                   1 if the kernel has the type
 *     bpf_core_type_size(type)                     its size (0 when absent)
 *     bpf_core_type_matches(type)                  1 if the kernel's type matches the local one
 *                                                  member by member (libbpf's "type matches";
 *                                                  clang 15+)
 *     bpf_core_type_id_local(type), bpf_core_type_id_kernel(type)   BTF type ids
 *     bpf_core_enum_value_exists(enum type, ENUMERATOR), bpf_core_enum_value(enum type, ENUMERATOR)
 *     bpf_core_cast(ptr, type)                     a pointer the verifier knows as the kernel type
 *                                                  (kfunc bpf_rdonly_cast, 6.2)
 *
 * A field or type the kernel lacks: the _exists/_size/_offset/_matches queries give 0; a read or
 * offset of a missing field is "poisoned" by the loader: the program still loads if that code is
 * unreachable (guard it with bpf_core_field_exists), and the verifier rejects it, naming the
 * relocation, if it is reachable.
 *
 * Requires clang (the builtins are clang's; GCC's BPF backend spells them differently).
 *
 * Mixing with libbpf's <bpf/bpf_core_read.h> (guard __BPF_CORE_READ_H__): include libbpf's FIRST
 * (with <bpf/bpf_helpers.h>, before <ebpfpp/bpf.h> as that header explains); its enums and
 * macros are then kept and ours step aside, only those it lacks (older libbpf) being added.
 * Including libbpf's header AFTER this one redefines its enums: a compile error.
 */
#ifndef EBPFPP_CORE_H
#define EBPFPP_CORE_H

#ifndef EBPFPP_BPF_H
#error "include <ebpfpp/bpf.h> before <ebpfpp/core.h>"
#endif

/* ---------------------------------------------------------------------------------------------
 * The second argument of each builtin: which property of the field, type or enumerator the
 * relocation asks for. The values are the kernel's enum bpf_core_relo_kind, offset per builtin
 * (field kinds 0-5, type id kinds 6-7 as 0-1, type kinds 8-9 and 12 as 0-2, enumerator kinds
 * 10-11 as 0-1); clang adds the offset back when it writes .BTF.ext. Our macros use the
 * EBPFPP_ spellings so they work whichever header defined the enums.
 */
#define EBPFPP_FIELD_BYTE_OFFSET 0
#define EBPFPP_FIELD_BYTE_SIZE 1
#define EBPFPP_FIELD_EXISTS 2
#define EBPFPP_FIELD_SIGNED 3
#define EBPFPP_FIELD_LSHIFT_U64 4
#define EBPFPP_FIELD_RSHIFT_U64 5
#define EBPFPP_TYPE_ID_LOCAL 0
#define EBPFPP_TYPE_ID_TARGET 1
#define EBPFPP_TYPE_EXISTS 0
#define EBPFPP_TYPE_SIZE 1
#define EBPFPP_TYPE_MATCHES 2
#define EBPFPP_ENUMVAL_EXISTS 0
#define EBPFPP_ENUMVAL_VALUE 1

#ifndef __BPF_CORE_READ_H__
/* libbpf's names for the same values (as in its bpf_core_read.h), for code that passes them to
   the builtins itself. */
enum bpf_field_info_kind {
	BPF_FIELD_BYTE_OFFSET = EBPFPP_FIELD_BYTE_OFFSET,
	BPF_FIELD_BYTE_SIZE = EBPFPP_FIELD_BYTE_SIZE,
	BPF_FIELD_EXISTS = EBPFPP_FIELD_EXISTS,
	BPF_FIELD_SIGNED = EBPFPP_FIELD_SIGNED,
	BPF_FIELD_LSHIFT_U64 = EBPFPP_FIELD_LSHIFT_U64,
	BPF_FIELD_RSHIFT_U64 = EBPFPP_FIELD_RSHIFT_U64,
};
enum bpf_type_id_kind {
	BPF_TYPE_ID_LOCAL = EBPFPP_TYPE_ID_LOCAL,
	BPF_TYPE_ID_TARGET = EBPFPP_TYPE_ID_TARGET,
};
enum bpf_type_info_kind {
	BPF_TYPE_EXISTS = EBPFPP_TYPE_EXISTS,
	BPF_TYPE_SIZE = EBPFPP_TYPE_SIZE,
	BPF_TYPE_MATCHES = EBPFPP_TYPE_MATCHES,
};
enum bpf_enum_value_kind {
	BPF_ENUMVAL_EXISTS = EBPFPP_ENUMVAL_EXISTS,
	BPF_ENUMVAL_VALUE = EBPFPP_ENUMVAL_VALUE,
};
#endif

/* ---------------------------------------------------------------------------------------------
 * Argument counting and selection (internal). EBPFPP_CORE_NARGS counts 1 to 10 arguments.
 */
#define EBPFPP_CORE_CAT_(a, b) a##b
#define EBPFPP_CORE_CAT(a, b) EBPFPP_CORE_CAT_(a, b)
#define EBPFPP_CORE_NTH_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, n, ...) n
#define EBPFPP_CORE_NARGS(...) EBPFPP_CORE_NTH_(__VA_ARGS__, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
/* name##N(args) where N is the number of args. */
#define EBPFPP_CORE_BY_NARGS(name, ...)                                                            \
	EBPFPP_CORE_CAT(name, EBPFPP_CORE_NARGS(__VA_ARGS__))(__VA_ARGS__)

/* A value of `type` that is never evaluated: an operand for the type builtins. */
#define EBPFPP_CORE_TYPE_VALUE(type) (*(typeof(type) *)0)

/* The field a query is about, written as an expression (p->f, p->a.b[1]) or as type and member
   path ((struct foo, a.b)). The builtins look only at the expression's access path. */
#define EBPFPP_CORE_FIELD1(expression) (expression)
#define EBPFPP_CORE_FIELD2(type, member) (((typeof(type) *)0)->member)
#define EBPFPP_CORE_FIELD(...) EBPFPP_CORE_BY_NARGS(EBPFPP_CORE_FIELD, __VA_ARGS__)

#define EBPFPP_CORE_FIELD_INFO(kind, ...)                                                          \
	__builtin_preserve_field_info(EBPFPP_CORE_FIELD(__VA_ARGS__), kind)

/* ---------------------------------------------------------------------------------------------
 * Queries
 */
#ifndef bpf_core_field_exists
#define bpf_core_field_exists(...) EBPFPP_CORE_FIELD_INFO(EBPFPP_FIELD_EXISTS, __VA_ARGS__)
#endif
#ifndef bpf_core_field_size
#define bpf_core_field_size(...) EBPFPP_CORE_FIELD_INFO(EBPFPP_FIELD_BYTE_SIZE, __VA_ARGS__)
#endif
#ifndef bpf_core_field_offset
#define bpf_core_field_offset(...) EBPFPP_CORE_FIELD_INFO(EBPFPP_FIELD_BYTE_OFFSET, __VA_ARGS__)
#endif

#ifndef bpf_core_type_id_local
#define bpf_core_type_id_local(type)                                                               \
	__builtin_btf_type_id(EBPFPP_CORE_TYPE_VALUE(type), EBPFPP_TYPE_ID_LOCAL)
#endif
#ifndef bpf_core_type_id_kernel
#define bpf_core_type_id_kernel(type)                                                              \
	__builtin_btf_type_id(EBPFPP_CORE_TYPE_VALUE(type), EBPFPP_TYPE_ID_TARGET)
#endif
#ifndef bpf_core_type_exists
#define bpf_core_type_exists(type)                                                                 \
	__builtin_preserve_type_info(EBPFPP_CORE_TYPE_VALUE(type), EBPFPP_TYPE_EXISTS)
#endif
#ifndef bpf_core_type_size
#define bpf_core_type_size(type)                                                                   \
	__builtin_preserve_type_info(EBPFPP_CORE_TYPE_VALUE(type), EBPFPP_TYPE_SIZE)
#endif
#ifndef bpf_core_type_matches
#if defined(__clang__) && __clang_major__ < 15
/* clang 14's backend aborts on this kind ("Incorrect flag for llvm.bpf.preserve.type.info"). */
#define bpf_core_type_matches(type)                                                                \
	({                                                                                         \
		_Static_assert(0, "bpf_core_type_matches needs clang 15 or later");                \
		0;                                                                                 \
	})
#else
#define bpf_core_type_matches(type)                                                                \
	__builtin_preserve_type_info(EBPFPP_CORE_TYPE_VALUE(type), EBPFPP_TYPE_MATCHES)
#endif
#endif

/* clang's form: the enumerator, cast to a pointer to the enum type, dereferenced (never
   evaluated). clang accepts exactly that shape: no parentheses around the enumerator. */
#ifndef bpf_core_enum_value_exists
#define bpf_core_enum_value_exists(enum_type, enumerator)                                          \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enumerator, EBPFPP_ENUMVAL_EXISTS)
#endif
#ifndef bpf_core_enum_value
#define bpf_core_enum_value(enum_type, enumerator)                                                 \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enumerator, EBPFPP_ENUMVAL_VALUE)
#endif

#ifndef bpf_core_cast
/* kfunc (6.2): the verifier then treats the result as a read-only pointer to the kernel type. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define bpf_core_cast(ptr, type)                                                                   \
	((typeof(type) *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))
#endif

/* ---------------------------------------------------------------------------------------------
 * Single reads: `src` is an address expression (&p->a.b), relocated as a whole.
 */
#ifndef bpf_core_read
#define bpf_core_read(dst, size, src)                                                              \
	bpf_probe_read_kernel(dst, size, (const void *)__builtin_preserve_access_index(src))
#endif
#ifndef bpf_core_read_user
#define bpf_core_read_user(dst, size, src)                                                         \
	bpf_probe_read_user(dst, size, (const void *)__builtin_preserve_access_index(src))
#endif
#ifndef bpf_core_read_str
#define bpf_core_read_str(dst, size, src)                                                          \
	bpf_probe_read_kernel_str(dst, size, (const void *)__builtin_preserve_access_index(src))
#endif
#ifndef bpf_core_read_user_str
#define bpf_core_read_user_str(dst, size, src)                                                     \
	bpf_probe_read_user_str(dst, size, (const void *)__builtin_preserve_access_index(src))
#endif

/* ---------------------------------------------------------------------------------------------
 * Pointer chains (internal).
 *
 * BPF_CORE_READ_INTO(&dst, s, a, b, c) becomes, with one relocated read per level:
 *     const void *__ebpfpp_p;
 *     read(&__ebpfpp_p, sizeof(__ebpfpp_p), &(s)->a);                          level 1
 *     read(&__ebpfpp_p, sizeof(__ebpfpp_p), &((typeof((s)->a))__ebpfpp_p)->b);  level 2
 *     read(&dst, sizeof(dst), &((typeof((s)->a->b))__ebpfpp_p)->c);            last level
 * Each cast gives the intermediate pointer back its type, so that level's access is relocated
 * against that type; typeof never evaluates its operand. The macros are numbered by how many
 * arguments they take (s included), which is what EBPFPP_CORE_NARGS counts:
 *   EBPFPP_CORE_ARROWk(s, m1..m(k-1))   the expression (s)->m1->...->m(k-1)
 *   EBPFPP_CORE_PTRSk(fn, s, m1..mk)    reads (s)->m1->...->mk into __ebpfpp_p, k levels
 *   EBPFPP_CORE_CHAINk(.., s, m1..m(k-1))  the k-2 pointer levels with fn_ptr, the last with fn
 */
#define EBPFPP_CORE_ARROW2(s, a) (s)->a
#define EBPFPP_CORE_ARROW3(s, a, b) (s)->a->b
#define EBPFPP_CORE_ARROW4(s, a, b, c) (s)->a->b->c
#define EBPFPP_CORE_ARROW5(s, a, b, c, d) (s)->a->b->c->d
#define EBPFPP_CORE_ARROW6(s, a, b, c, d, e) (s)->a->b->c->d->e
#define EBPFPP_CORE_ARROW7(s, a, b, c, d, e, f) (s)->a->b->c->d->e->f
#define EBPFPP_CORE_ARROW8(s, a, b, c, d, e, f, g) (s)->a->b->c->d->e->f->g
#define EBPFPP_CORE_ARROW9(s, a, b, c, d, e, f, g, h) (s)->a->b->c->d->e->f->g->h
#define EBPFPP_CORE_ARROW10(s, a, b, c, d, e, f, g, h, i) (s)->a->b->c->d->e->f->g->h->i

/* The type of the whole chain; clang 19 can drop const/volatile (the result variable of
   BPF_CORE_READ is written by the read helper). */
#if defined(__clang__) && __clang_major__ >= 19
#define EBPFPP_CORE_RESULT_TYPE(...)                                                               \
	__typeof_unqual__(EBPFPP_CORE_BY_NARGS(EBPFPP_CORE_ARROW, __VA_ARGS__))
#else
#define EBPFPP_CORE_RESULT_TYPE(...)                                                               \
	typeof(EBPFPP_CORE_BY_NARGS(EBPFPP_CORE_ARROW, __VA_ARGS__))
#endif

/* One read: fn(dst, sizeof(*dst), &((type)(pointer))->member). */
#define EBPFPP_CORE_READ_ONE(fn, dst, type, pointer, member)                                       \
	fn((void *)(dst), sizeof(*(dst)), &((type)(pointer))->member)
#define EBPFPP_CORE_NEXT(fn, type, member)                                                         \
	EBPFPP_CORE_READ_ONE(fn, &__ebpfpp_p, type, __ebpfpp_p, member);

#define EBPFPP_CORE_PTRS1(fn, s, a)                                                                \
	const void *__ebpfpp_p;                                                                    \
	EBPFPP_CORE_READ_ONE(fn, &__ebpfpp_p, typeof(s), s, a);
#define EBPFPP_CORE_PTRS2(fn, s, a, b)                                                             \
	EBPFPP_CORE_PTRS1(fn, s, a) EBPFPP_CORE_NEXT(fn, typeof(EBPFPP_CORE_ARROW2(s, a)), b)
#define EBPFPP_CORE_PTRS3(fn, s, a, b, c)                                                          \
	EBPFPP_CORE_PTRS2(fn, s, a, b) EBPFPP_CORE_NEXT(fn, typeof(EBPFPP_CORE_ARROW3(s, a, b)), c)
#define EBPFPP_CORE_PTRS4(fn, s, a, b, c, d)                                                       \
	EBPFPP_CORE_PTRS3(fn, s, a, b, c)                                                          \
	EBPFPP_CORE_NEXT(fn, typeof(EBPFPP_CORE_ARROW4(s, a, b, c)), d)
#define EBPFPP_CORE_PTRS5(fn, s, a, b, c, d, e)                                                    \
	EBPFPP_CORE_PTRS4(fn, s, a, b, c, d)                                                       \
	EBPFPP_CORE_NEXT(fn, typeof(EBPFPP_CORE_ARROW5(s, a, b, c, d)), e)
#define EBPFPP_CORE_PTRS6(fn, s, a, b, c, d, e, f)                                                 \
	EBPFPP_CORE_PTRS5(fn, s, a, b, c, d, e)                                                    \
	EBPFPP_CORE_NEXT(fn, typeof(EBPFPP_CORE_ARROW6(s, a, b, c, d, e)), f)
#define EBPFPP_CORE_PTRS7(fn, s, a, b, c, d, e, f, g)                                              \
	EBPFPP_CORE_PTRS6(fn, s, a, b, c, d, e, f)                                                 \
	EBPFPP_CORE_NEXT(fn, typeof(EBPFPP_CORE_ARROW7(s, a, b, c, d, e, f)), g)
#define EBPFPP_CORE_PTRS8(fn, s, a, b, c, d, e, f, g, h)                                           \
	EBPFPP_CORE_PTRS7(fn, s, a, b, c, d, e, f, g)                                              \
	EBPFPP_CORE_NEXT(fn, typeof(EBPFPP_CORE_ARROW8(s, a, b, c, d, e, f, g)), h)

#define EBPFPP_CORE_CHAIN2(fn, fn_ptr, dst, s, a) EBPFPP_CORE_READ_ONE(fn, dst, typeof(s), s, a);
#define EBPFPP_CORE_CHAIN3(fn, fn_ptr, dst, s, a, b)                                               \
	EBPFPP_CORE_PTRS1(fn_ptr, s, a)                                                            \
	EBPFPP_CORE_READ_ONE(fn, dst, typeof(EBPFPP_CORE_ARROW2(s, a)), __ebpfpp_p, b);
#define EBPFPP_CORE_CHAIN4(fn, fn_ptr, dst, s, a, b, c)                                            \
	EBPFPP_CORE_PTRS2(fn_ptr, s, a, b)                                                         \
	EBPFPP_CORE_READ_ONE(fn, dst, typeof(EBPFPP_CORE_ARROW3(s, a, b)), __ebpfpp_p, c);
#define EBPFPP_CORE_CHAIN5(fn, fn_ptr, dst, s, a, b, c, d)                                         \
	EBPFPP_CORE_PTRS3(fn_ptr, s, a, b, c)                                                      \
	EBPFPP_CORE_READ_ONE(fn, dst, typeof(EBPFPP_CORE_ARROW4(s, a, b, c)), __ebpfpp_p, d);
#define EBPFPP_CORE_CHAIN6(fn, fn_ptr, dst, s, a, b, c, d, e)                                      \
	EBPFPP_CORE_PTRS4(fn_ptr, s, a, b, c, d)                                                   \
	EBPFPP_CORE_READ_ONE(fn, dst, typeof(EBPFPP_CORE_ARROW5(s, a, b, c, d)), __ebpfpp_p, e);
#define EBPFPP_CORE_CHAIN7(fn, fn_ptr, dst, s, a, b, c, d, e, f)                                   \
	EBPFPP_CORE_PTRS5(fn_ptr, s, a, b, c, d, e)                                                \
	EBPFPP_CORE_READ_ONE(fn, dst, typeof(EBPFPP_CORE_ARROW6(s, a, b, c, d, e)), __ebpfpp_p, f);
#define EBPFPP_CORE_CHAIN8(fn, fn_ptr, dst, s, a, b, c, d, e, f, g)                                \
	EBPFPP_CORE_PTRS6(fn_ptr, s, a, b, c, d, e, f)                                             \
	EBPFPP_CORE_READ_ONE(fn, dst, typeof(EBPFPP_CORE_ARROW7(s, a, b, c, d, e, f)),             \
			     __ebpfpp_p, g);
#define EBPFPP_CORE_CHAIN9(fn, fn_ptr, dst, s, a, b, c, d, e, f, g, h)                             \
	EBPFPP_CORE_PTRS7(fn_ptr, s, a, b, c, d, e, f, g)                                          \
	EBPFPP_CORE_READ_ONE(fn, dst, typeof(EBPFPP_CORE_ARROW8(s, a, b, c, d, e, f, g)),          \
			     __ebpfpp_p, h);
#define EBPFPP_CORE_CHAIN10(fn, fn_ptr, dst, s, a, b, c, d, e, f, g, h, i)                         \
	EBPFPP_CORE_PTRS8(fn_ptr, s, a, b, c, d, e, f, g, h)                                       \
	EBPFPP_CORE_READ_ONE(fn, dst, typeof(EBPFPP_CORE_ARROW9(s, a, b, c, d, e, f, g, h)),       \
			     __ebpfpp_p, i);

/* A statement expression whose value is the last read's result (0 or a negative errno). */
#define EBPFPP_CORE_INTO(fn, fn_ptr, dst, ...)                                                     \
	({ EBPFPP_CORE_CAT(EBPFPP_CORE_CHAIN, EBPFPP_CORE_NARGS(__VA_ARGS__))(fn, fn_ptr, dst,     \
								   __VA_ARGS__) })
/* A statement expression whose value is the chain's last member (zeroed by the helper when a
   read fails). */
#define EBPFPP_CORE_VALUE(into, ...)                                                               \
	({                                                                                         \
		EBPFPP_CORE_RESULT_TYPE(__VA_ARGS__) __ebpfpp_r;                                   \
		into(&__ebpfpp_r, __VA_ARGS__);                                                    \
		__ebpfpp_r;                                                                        \
	})

/* ---------------------------------------------------------------------------------------------
 * Pointer chains: BPF_CORE_READ(src, a, b, ...) is src->a->b->... with every level read through
 * bpf_probe_read_kernel and relocated. Up to 9 levels; each level may be a member path
 * (BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name)).
 */
#ifndef BPF_CORE_READ_INTO
#define BPF_CORE_READ_INTO(dst, src, ...)                                                          \
	EBPFPP_CORE_INTO(bpf_core_read, bpf_core_read, dst, (src), __VA_ARGS__)
#endif
#ifndef BPF_CORE_READ_USER_INTO
#define BPF_CORE_READ_USER_INTO(dst, src, ...)                                                     \
	EBPFPP_CORE_INTO(bpf_core_read_user, bpf_core_read_user, dst, (src), __VA_ARGS__)
#endif
/* The last level read as a NUL-terminated string into the array dst (bpf_probe_read_*_str's
   result: the length with the NUL, or a negative errno). */
#ifndef BPF_CORE_READ_STR_INTO
#define BPF_CORE_READ_STR_INTO(dst, src, ...)                                                      \
	EBPFPP_CORE_INTO(bpf_core_read_str, bpf_core_read, dst, (src), __VA_ARGS__)
#endif
#ifndef BPF_CORE_READ_USER_STR_INTO
#define BPF_CORE_READ_USER_STR_INTO(dst, src, ...)                                                 \
	EBPFPP_CORE_INTO(bpf_core_read_user_str, bpf_core_read_user, dst, (src), __VA_ARGS__)
#endif
#ifndef BPF_CORE_READ
#define BPF_CORE_READ(src, ...) EBPFPP_CORE_VALUE(BPF_CORE_READ_INTO, (src), __VA_ARGS__)
#endif
#ifndef BPF_CORE_READ_USER
#define BPF_CORE_READ_USER(src, ...) EBPFPP_CORE_VALUE(BPF_CORE_READ_USER_INTO, (src), __VA_ARGS__)
#endif

/* The same chains without CO-RE relocations (any types, e.g. the program's own structs). */
#ifndef BPF_PROBE_READ_INTO
#define BPF_PROBE_READ_INTO(dst, src, ...)                                                         \
	EBPFPP_CORE_INTO(bpf_probe_read_kernel, bpf_probe_read_kernel, dst, (src), __VA_ARGS__)
#endif
#ifndef BPF_PROBE_READ_USER_INTO
#define BPF_PROBE_READ_USER_INTO(dst, src, ...)                                                    \
	EBPFPP_CORE_INTO(bpf_probe_read_user, bpf_probe_read_user, dst, (src), __VA_ARGS__)
#endif
#ifndef BPF_PROBE_READ_STR_INTO
#define BPF_PROBE_READ_STR_INTO(dst, src, ...)                                                     \
	EBPFPP_CORE_INTO(bpf_probe_read_kernel_str, bpf_probe_read_kernel, dst, (src), __VA_ARGS__)
#endif
#ifndef BPF_PROBE_READ_USER_STR_INTO
#define BPF_PROBE_READ_USER_STR_INTO(dst, src, ...)                                                \
	EBPFPP_CORE_INTO(bpf_probe_read_user_str, bpf_probe_read_user, dst, (src), __VA_ARGS__)
#endif
#ifndef BPF_PROBE_READ
#define BPF_PROBE_READ(src, ...) EBPFPP_CORE_VALUE(BPF_PROBE_READ_INTO, (src), __VA_ARGS__)
#endif
#ifndef BPF_PROBE_READ_USER
#define BPF_PROBE_READ_USER(src, ...)                                                              \
	EBPFPP_CORE_VALUE(BPF_PROBE_READ_USER_INTO, (src), __VA_ARGS__)
#endif

/* ---------------------------------------------------------------------------------------------
 * Bitfields. A bitfield cannot be addressed, so the loader relocates five properties instead:
 * the byte offset and size of an aligned load that covers it, and two shifts that move it to
 * the top of a u64 and back down (arithmetically when it is signed):
 *
 *     bit 63                                      0        loaded word (little-endian: the
 *     [ ...... | field (w bits) | ...... ]                  field starts at bit b)
 *     value = (word << (64 - b - w)) >> (64 - w)            LSHIFT_U64, RSHIFT_U64
 */
#define EBPFPP_CORE_BF(s, field, kind)                                                             \
	__builtin_preserve_field_info((s)->field, EBPFPP_FIELD_##kind)
/* value (an unsigned long long holding the loaded word) becomes the field's value. */
#define EBPFPP_CORE_BF_EXTRACT(value, s, field)                                                    \
	do {                                                                                       \
		value <<= EBPFPP_CORE_BF(s, field, LSHIFT_U64);                                    \
		if (EBPFPP_CORE_BF(s, field, SIGNED))                                              \
			value = (unsigned long long)((long long)value >>                           \
						     EBPFPP_CORE_BF(s, field, RSHIFT_U64));        \
		else                                                                               \
			value >>= EBPFPP_CORE_BF(s, field, RSHIFT_U64);                            \
	} while (0)

#ifndef BPF_CORE_READ_BITFIELD_PROBED
/* Through bpf_probe_read_kernel (kprobes, tracepoints: any pointer). The load's bytes must land
   in the low-order end of the u64, whatever the byte order, as LSHIFT_U64 assumes. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define EBPFPP_CORE_BF_DST(value, size) ((void *)&(value))
#else
#define EBPFPP_CORE_BF_DST(value, size) ((void *)((char *)&(value) + 8 - (size)))
#endif
#define BPF_CORE_READ_BITFIELD_PROBED(s, field)                                                    \
	({                                                                                         \
		unsigned long long __ebpfpp_v = 0;                                                 \
		const unsigned int __ebpfpp_size = EBPFPP_CORE_BF(s, field, BYTE_SIZE);            \
		bpf_probe_read_kernel(EBPFPP_CORE_BF_DST(__ebpfpp_v, __ebpfpp_size),               \
				      __ebpfpp_size,                                               \
				      (const char *)(s) + EBPFPP_CORE_BF(s, field, BYTE_OFFSET));  \
		EBPFPP_CORE_BF_EXTRACT(__ebpfpp_v, s, field);                                      \
		__ebpfpp_v;                                                                        \
	})
#endif

/* The load of a bitfield's word by its relocated size; the switch folds to one case after
   relocation. The empty asm makes the compiler keep the relocated address in a register rather
   than fold the offset relocation into each of the four loads. */
#define EBPFPP_CORE_BF_LOAD(value, pointer, size)                                                  \
	switch (size) {                                                                            \
	case 1: value = *(const unsigned char *)(pointer); break;                                  \
	case 2: value = *(const unsigned short *)(pointer); break;                                 \
	case 4: value = *(const unsigned int *)(pointer); break;                                   \
	case 8: value = *(const unsigned long long *)(pointer); break;                             \
	default: value = 0; break;                                                                 \
	}

#ifndef BPF_CORE_READ_BITFIELD
/* A direct load (pointers the verifier knows: tp_btf, fentry, iterators, struct_ops, the result
   of bpf_get_current_task_btf or bpf_core_cast, the program's own memory). */
#define BPF_CORE_READ_BITFIELD(s, field)                                                           \
	({                                                                                         \
		const char *__ebpfpp_at =                                                          \
			(const char *)(s) + EBPFPP_CORE_BF(s, field, BYTE_OFFSET);                 \
		unsigned long long __ebpfpp_v;                                                     \
		asm volatile("" : "+r"(__ebpfpp_at));                                              \
		EBPFPP_CORE_BF_LOAD(__ebpfpp_v, __ebpfpp_at, EBPFPP_CORE_BF(s, field, BYTE_SIZE))  \
		EBPFPP_CORE_BF_EXTRACT(__ebpfpp_v, s, field);                                      \
		__ebpfpp_v;                                                                        \
	})
#endif

#ifndef BPF_CORE_WRITE_BITFIELD
/* A direct read-modify-write of the bitfield's word: only the field's bits change. The field is
   bits [RSHIFT - LSHIFT, RSHIFT - LSHIFT + width) of the word, hence the mask. */
#define BPF_CORE_WRITE_BITFIELD(s, field, new_value)                                               \
	({                                                                                         \
		char *__ebpfpp_at = (char *)(s) + EBPFPP_CORE_BF(s, field, BYTE_OFFSET);           \
		unsigned int __ebpfpp_size = EBPFPP_CORE_BF(s, field, BYTE_SIZE);                  \
		unsigned int __ebpfpp_l = EBPFPP_CORE_BF(s, field, LSHIFT_U64);                    \
		unsigned int __ebpfpp_r = EBPFPP_CORE_BF(s, field, RSHIFT_U64);                    \
		unsigned long long __ebpfpp_mask = (~0ULL << __ebpfpp_r) >> __ebpfpp_l;            \
		unsigned long long __ebpfpp_v, __ebpfpp_new = (new_value);                         \
		asm volatile("" : "+r"(__ebpfpp_at));                                              \
		EBPFPP_CORE_BF_LOAD(__ebpfpp_v, __ebpfpp_at, __ebpfpp_size)                        \
		__ebpfpp_v = (__ebpfpp_v & ~__ebpfpp_mask) |                                       \
			     ((__ebpfpp_new << (__ebpfpp_r - __ebpfpp_l)) & __ebpfpp_mask);        \
		switch (__ebpfpp_size) {                                                           \
		case 1: *(unsigned char *)__ebpfpp_at = (unsigned char)__ebpfpp_v; break;          \
		case 2: *(unsigned short *)__ebpfpp_at = (unsigned short)__ebpfpp_v; break;        \
		case 4: *(unsigned int *)__ebpfpp_at = (unsigned int)__ebpfpp_v; break;            \
		case 8: *(unsigned long long *)__ebpfpp_at = __ebpfpp_v; break;                    \
		}                                                                                  \
	})
#endif

#endif /* EBPFPP_CORE_H */
