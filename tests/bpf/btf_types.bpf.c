// Exercises every BTF kind clang emits, for tests/unit/btf_test.cpp and btf_ext_test.cpp and as
// a fuzz seed. Self-contained on purpose (no headers): the test asserts exact type shapes.

#define SEC(x) __attribute__((section(x), used))
#define __user __attribute__((btf_type_tag("user")))

typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;

// A struct with kind_flag bitfields (clang sets kind_flag when a struct has bitfields).
struct flags {
  u32 low : 3;
  u32 mid : 5;
  int signed_bits : 10;
  u64 wide;
  char name[6];
};
typedef struct flags flags_t;

enum color { color_red, color_green = 5, color_none = -1 };
enum big { big_small = 1, big_huge = 0x1234567890ULL };  // needs BTF_KIND_ENUM64

union value {
  u32 as_u32;
  int as_int;
  s8 bytes[4];
};

struct with_ptrs {
  int __user *user_ptr;                  // BTF_KIND_TYPE_TAG
  const volatile u32 *cv_ptr;            // const, volatile
  int *__restrict restricted;            // restrict
  struct opaque *opaque;                 // forward
  union value (*callback)(u32, u64);     // func_proto through a pointer
};

// .data
int data_counter = 1;
flags_t data_flags = {1, 2, -3, 4, "abc"};
struct with_ptrs data_ptrs = {0};
double data_ratio = 0.5;  // BTF_KIND_FLOAT

// .rodata
const volatile u32 rodata_limit = 10;
const enum color rodata_color = color_green;

// .bss
u64 bss_total;
enum big bss_big;
union value bss_value;
int bss_tagged __attribute__((btf_decl_tag("x")));  // BTF_KIND_DECL_TAG on a variable

char LICENSE[] SEC("license") = "GPL";

// A CO-RE target: each builtin below leaves a .BTF.ext core_relo record and a constant load, so
// the program stays verifiable (the way libbpf's bpf_core_* macros expand).
struct core_target {
  int pid;
  int tgid;
} __attribute__((preserve_access_index));

static __attribute__((noinline)) int add_tagged(int a __attribute__((btf_decl_tag("arg"))), int b) {
  bss_tagged += a;
  return a + b;
}

SEC("xdp")
int btf_types_prog(void *ctx) {
  (void)ctx;
  data_counter += add_tagged(data_counter, (int)rodata_limit);
  bss_total += data_flags.wide + data_flags.low;
  bss_value.as_u32 = (u32)bss_big + (u32)rodata_color;
  if (data_ptrs.user_ptr) bss_total++;
  u64 core = 0;
  core += __builtin_preserve_field_info(((struct core_target *)0)->tgid, 0);  // field_byte_offset
  core += __builtin_preserve_field_info(((struct core_target *)0)->tgid, 2);  // field_exists
  core += __builtin_preserve_type_info(*(struct core_target *)0, 1);          // type_size
  core += __builtin_preserve_enum_value(*(enum color *)color_green, 1);       // enumval_value
  core += __builtin_btf_type_id(*(struct core_target *)0, 0);                 // type_id_local
  bss_total += core;
  return 2;  // XDP_PASS
}
