// CO-RE relocations as clang emits them, for tests/unit/core_test.cpp.
//
// Compiled twice: CORE_LAYOUT=1 gives core_layout_v1.bpf.o (the "local" object) and
// CORE_LAYOUT=2 gives core_layout_v2.bpf.o (the "target"). Both declare the same struct and enum
// names with different layouts (members reordered, resized, moved into anonymous structs; enum
// values renumbered) and contain the same programs, so the i-th CO-RE relocation of a program
// in v1 is the i-th in v2, and the value clang wrote into v2's instruction is the value the
// relocation engine must compute when it relocates v1 against v2's BTF. Programs that only v1
// has exercise what the target lacks (a missing type, field and enumerator; a flavor).
//
// The compiler builtins are used directly (bpf/include/ebpfpp has no CO-RE macros yet); their
// second argument is libbpf's enum bpf_field_info_kind / bpf_type_id_kind / bpf_type_info_kind /
// bpf_enum_value_kind (bpf_core_read.h). The programs are never loaded.

#define SEC(x) __attribute__((section(x), used))
#define CORE __attribute__((preserve_access_index))

typedef unsigned int u32;
typedef unsigned long long u64;

#define FIELD_BYTE_OFFSET 0
#define FIELD_BYTE_SIZE 1
#define FIELD_EXISTS 2
#define FIELD_SIGNED 3
#define FIELD_LSHIFT_U64 4
#define FIELD_RSHIFT_U64 5
#define field_info(field, kind) __builtin_preserve_field_info(field, kind)
#define type_info(type, kind) __builtin_preserve_type_info(*(type *)0, kind)
#define type_id(type, kind) __builtin_btf_type_id(*(type *)0, kind)
#define enum_info(type, value, kind) __builtin_preserve_enum_value(*(type *)value, kind)

#if CORE_LAYOUT == 1

struct core_inner {
  int a;
  int b;
} CORE;

struct core_sample {
  int pid;
  u32 low : 3;
  u32 mid : 9;
  int sbits : 5;
  struct core_inner inner;
  struct core_inner items[4];
  union {
    long long as_ll;
    int as_int;
  };
  struct {
    char tag;
    short code;
  };
  u32 counter;
  void *ptr;
  char comm[16];
  int tail[];
} CORE;

enum core_state { CORE_IDLE = 0, CORE_RUNNING = 1, CORE_GONE = 2, CORE_OLD = 3 };
enum core_wide { CORE_WIDE_SMALL = 1, CORE_WIDE_BIG = 0x100000000ULL };

#else

struct core_inner {
  long long extra;
  int b;
  int a;
} CORE;

struct core_sample {
  u64 added;
  char comm[32];
  void *ptr;
  u64 counter;
  struct {
    int pad;
    union {
      long long as_ll;
      int as_int;
    };
  };
  u32 pad_bits : 7;
  u32 low : 3;
  int sbits : 11;
  u32 mid : 9;
  struct core_inner items[8];
  struct {
    short code;
    char tag;
  };
  struct core_inner inner;
  int pid;
  int tail[];
} CORE;

enum core_state { CORE_GONE = 7, CORE_IDLE = 3, CORE_RUNNING = 5, CORE_NEW = 9 };
enum core_wide { CORE_WIDE_BIG = 0x200000000ULL, CORE_WIDE_SMALL = 2 };

#endif

typedef struct core_inner core_inner_t;

// Loads through relocated offsets: byte_off relocations on ldx instructions, including the u32
// that becomes a u64 (its load is widened) and a pointer.
SEC("raw_tp/core_loads")
int core_loads(struct core_sample *s) {
  return s->pid + s->inner.b + s->items[2].a + s->as_int + s->code + s->tag + s->comm[3] + s->tail[5];
}

SEC("raw_tp/core_wide_loads")
u64 core_wide_loads(struct core_sample *s) {
  return s->counter + (u64)s->ptr;
}

// Every field kind on plain fields, nested ones, anonymous members and array elements.
SEC("raw_tp/core_fields")
u64 core_fields(struct core_sample *s) {
  u64 r = 0;
  r += field_info(s->pid, FIELD_BYTE_OFFSET);
  r += field_info(s->pid, FIELD_BYTE_SIZE) << 1;
  r += field_info(s->pid, FIELD_EXISTS) << 2;
  r += field_info(s->pid, FIELD_SIGNED) << 3;
  r += field_info(s->pid, FIELD_LSHIFT_U64) << 4;
  r += field_info(s->pid, FIELD_RSHIFT_U64) << 5;
  r += field_info(s->counter, FIELD_SIGNED) << 6;
  r += field_info(s->counter, FIELD_BYTE_SIZE) << 7;
  r += field_info(s->inner.a, FIELD_BYTE_OFFSET) << 8;
  r += field_info(s->items[1].b, FIELD_BYTE_OFFSET) << 9;
  r += field_info(s->items[2], FIELD_BYTE_OFFSET) << 10;
  r += field_info(s->items[2], FIELD_BYTE_SIZE) << 11;
  r += field_info(s->comm, FIELD_BYTE_SIZE) << 12;
  r += field_info(s->comm[7], FIELD_BYTE_OFFSET) << 13;
  r += field_info(s->as_int, FIELD_BYTE_OFFSET) << 14;
  r += field_info(s->as_ll, FIELD_BYTE_SIZE) << 15;
  r += field_info(s->code, FIELD_BYTE_OFFSET) << 16;
  r += field_info(s->ptr, FIELD_BYTE_SIZE) << 17;
  r += field_info(s->tail[5], FIELD_BYTE_OFFSET) << 18;
  return r;
}

// Bitfields: every field kind.
SEC("raw_tp/core_bitfields")
u64 core_bitfields(struct core_sample *s) {
  u64 r = 0;
  r += field_info(s->low, FIELD_BYTE_OFFSET);
  r += field_info(s->low, FIELD_BYTE_SIZE) << 1;
  r += field_info(s->low, FIELD_LSHIFT_U64) << 2;
  r += field_info(s->low, FIELD_RSHIFT_U64) << 3;
  r += field_info(s->low, FIELD_SIGNED) << 4;
  r += field_info(s->mid, FIELD_BYTE_OFFSET) << 5;
  r += field_info(s->mid, FIELD_BYTE_SIZE) << 6;
  r += field_info(s->mid, FIELD_LSHIFT_U64) << 7;
  r += field_info(s->mid, FIELD_RSHIFT_U64) << 8;
  r += field_info(s->sbits, FIELD_BYTE_OFFSET) << 9;
  r += field_info(s->sbits, FIELD_BYTE_SIZE) << 10;
  r += field_info(s->sbits, FIELD_LSHIFT_U64) << 11;
  r += field_info(s->sbits, FIELD_RSHIFT_U64) << 12;
  r += field_info(s->sbits, FIELD_SIGNED) << 13;
  r += field_info(s->sbits, FIELD_EXISTS) << 14;
  return r;
}

// Type and enumerator kinds.
SEC("raw_tp/core_types")
u64 core_types(void *ctx) {
  u64 r = 0;
  r += type_id(struct core_sample, 0);  // local type id
  r += type_id(struct core_sample, 1) << 1;  // target type id
  r += type_info(struct core_sample, 0) << 2;  // exists
  r += type_info(struct core_sample, 1) << 3;  // size
  r += type_info(struct core_inner, 1) << 4;
  r += type_info(core_inner_t, 1) << 5;  // through a typedef
  r += type_info(struct core_inner, 2) << 6;  // matches (v1's is a subset of v2's)
  r += type_info(enum core_state, 1) << 7;
  r += enum_info(enum core_state, CORE_RUNNING, 1) << 8;  // value
  r += enum_info(enum core_state, CORE_GONE, 0) << 9;  // exists
  r += enum_info(enum core_state, CORE_IDLE, 1) << 10;
  r += enum_info(enum core_wide, CORE_WIDE_BIG, 1) << 11;  // enum64: ld_imm64
  r += enum_info(enum core_wide, CORE_WIDE_SMALL, 1) << 12;
  r += type_id(core_inner_t, 1) << 13;
  return r;
}

#if CORE_LAYOUT == 1

// What the target lacks.
struct core_gone {
  int x;
} CORE;

// A flavor: relocates against the target's core_sample; old_pid and old_only exist only here.
struct core_sample___old {
  int pid;
  int old_only;
} CORE;

SEC("raw_tp/core_local_only")
u64 core_local_only(struct core_sample___old *o) {
  u64 r = 0;
  r += type_info(struct core_gone, 0);                        // type_exists: 0
  r += type_info(struct core_gone, 1) << 1;                   // type_size: 0
  r += field_info(o->old_only, FIELD_EXISTS) << 2;            // field_exists: 0
  r += o->pid << 3;                                           // flavored byte_off (ldx)
  r += o->old_only << 4;                                      // missing field: poisoned ldx
  r += type_info(struct core_sample, 2) << 5;                 // type_matches: 0 (u32 vs u64)
  r += enum_info(enum core_state, CORE_OLD, 0) << 6;          // enumval_exists: 0
  r += enum_info(enum core_state, CORE_OLD, 1) << 7;          // enumval_value: poisoned
  r += type_id(struct core_gone, 1) << 8;                     // target type id: 0
  return r;
}

#endif

char LICENSE[] SEC("license") = "GPL";
