// BTF to C (vmlinux.h) and to bpftool's raw text.
//
// The C writer follows the rules of libbpf's src/btf_dump.c (the code behind
// `bpftool btf dump ... format c`), so that a header made here and one made by bpftool define the
// same names the same way. In two passes per root type:
//
//  1. order: a depth-first walk that queues the named definitions (struct, union, enum, typedef,
//     fwd) a root needs, dependencies first. A type used by value (a member, an array element,
//     a typedef's target) is a *strong* link: it must be defined before. A named struct/union
//     reached through a pointer is a *weak* link: a forward declaration is enough, so the walk
//     stops there, which is what breaks the cycles of C (struct task_struct points to itself).
//     An anonymous struct is defined inline where it is used, so even behind a pointer its
//     members are strong links of the enclosing definition:
//         struct A {};                         // must come first ...
//         struct B { struct { struct A y; } *x; };   // ... though x is a pointer
//  2. emit: walk each queued definition again; a named struct/union met while it is still being
//     emitted (a pointer back to an enclosing type) gets a forward declaration `struct X;`, a
//     typedef met that way is emitted right away (it is its own forward declaration).
//
// Declarations are printed from the BTF chain by pushing it on a stack (typedef -> array -> ptr
// -> const -> int) and unwinding it from the base type outwards, which is how C's inside-out
// declarator syntax comes out right: `const int *(*fn[4])(void)`.
//
// Layout: BTF gives every member's bit offset and the struct's size; C derives them from
// alignment. Where the two agree nothing is added; a gap becomes anonymous bitfields
// (`long: 64; int: 32;`, which take no name and pad the way the compiler would not), and a member
// off its natural alignment (or a size that is no multiple of the alignment) means the original
// was packed, so `__attribute__((packed))` is added (libbpf's btf_is_struct_packed).
//
// Names: struct/union/enum tags and typedef/enumerator identifiers are separate C namespaces.
// Deduplicated BTF can still hold different types of one name (two `struct foo` from different
// compilation units); the first one printed keeps the name, the next ones become foo___2, ...

#include <ebpf/btf_dump.hpp>

#include <ebpf/error.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ebpf {
namespace {

// The kernel gives up resolving a type after 32 levels (MAX_RESOLVE_DEPTH in kernel/bpf/btf.c);
// real nesting (struct in struct in anonymous union ...) stays far below this limit, which only
// keeps hostile BTF from exhausting the stack.
constexpr int max_nesting = 1000;


std::string num(std::uint64_t v) { return std::to_string(v); }

[[noreturn]] void fail(std::uint32_t id, const std::string& what) {
  throw_error(errc::invalid_btf, "BTF to C: type " + num(id) + ": " + what);
}

bool is_identifier(std::string_view name) noexcept {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Base type names are C type specifiers, several words: "long unsigned int", "_Bool".
bool is_base_type_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ' ';
    if (!ok) return false;
  }
  return true;
}

// A type tag's value goes into a string literal (or, with kind_flag, is an attribute itself).
bool is_tag_text(std::string_view text) noexcept {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

bool is_modifier(btf_kind kind) noexcept {
  return kind == btf_kind::volatile_ || kind == btf_kind::const_ || kind == btf_kind::restrict_ ||
         kind == btf_kind::type_tag;
}

enum class order_state : std::uint8_t { not_ordered, ordering, ordered };
enum class emit_state : std::uint8_t { not_emitted, emitting, emitted };

struct type_state {
  order_state order = order_state::not_ordered;
  emit_state emit = emit_state::not_emitted;
  bool fwd_emitted = false;    // `struct X;` printed (for a typedef: the typedef printed early)
  bool name_resolved = false;  // the unique name is decided
  bool referenced = false;     // some other type refers to it (an anonymous enum is then inline)
};

// A range of the shared declaration stack: one declaration being printed.
struct decl_frame {
  std::size_t base = 0;
  std::size_t count = 0;
};

class c_writer {
 public:
  // BTF can ask for far more text than it takes itself: a struct of 4 GiB is half a billion
  // `long: 64;` lines, an anonymous struct used by many members is printed at every use (and so
  // on, nested). c_dump_options::max_size bounds that.
  c_writer(const btf& types, std::string& out, std::size_t max_size) : out_(out), max_output_(max_size) {
    decode(types);
    pointer_size_ = find_pointer_size();
    mark_referenced();
  }

  void write(const c_dump_options& options) {
    if (!options.guard.empty()) {
      if (!is_identifier(options.guard)) {
        throw_error(errc::invalid_argument, "BTF to C: the include guard '" + options.guard + "' is not a C identifier");
      }
      put("#ifndef ").put(options.guard).put("\n#define ").put(options.guard).put("\n\n");
    }
    if (options.preserve_access_index) {
      put("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
          "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
          "#endif\n\n");
    }
    put("#ifndef __ksym\n"
        "#define __ksym __attribute__((section(\".ksyms\")))\n"
        "#endif\n\n"
        "#ifndef __weak\n"
        "#define __weak __attribute__((weak))\n"
        "#endif\n\n"
        "#ifndef __bpf_fastcall\n"
        "#if __has_attribute(bpf_fastcall)\n"
        "#define __bpf_fastcall __attribute__((bpf_fastcall))\n"
        "#else\n"
        "#define __bpf_fastcall\n"
        "#endif\n"
        "#endif\n\n"
        // Behind a macro: compilers without the attribute (GCC, old clang) warn about it, and a
        // program may not want the tags (BTF_TYPE_TAG is what the kernel's __user, __rcu, ...
        // expand to when it is built with clang).
        "#ifndef __btf_type_tag\n"
        "#if __has_attribute(btf_type_tag) && !defined(BPF_NO_TYPE_TAG)\n"
        "#define __btf_type_tag(tag) __attribute__((btf_type_tag(tag)))\n"
        "#else\n"
        "#define __btf_type_tag(tag)\n"
        "#endif\n"
        "#endif\n\n");
    for (std::uint32_t id = 1; id < types_.size(); ++id) dump(id);
    if (options.kfunc_prototypes) write_kfuncs();
    if (options.preserve_access_index) {
      put("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
          "#pragma clang attribute pop\n"
          "#endif\n\n");
    }
    if (!options.guard.empty()) put("#endif /* ").put(options.guard).put(" */\n");
  }

 private:
  // ---- decoded types -------------------------------------------------------------------------
  // Every type is visited several times (ordering, emitting, alignment, names); the tails are
  // decoded once into flat arrays so that no visit allocates.

  void decode(const btf& types) {
    std::uint32_t count = types.type_count();
    if (count == 0) count = 1;  // an empty btf still has void
    types_.resize(count);
    tail_.assign(count, 0);
    for (std::uint32_t id = 1; id < types.type_count(); ++id) {
      btf_type t = types.type(id);
      types_[id] = t;
      switch (t.kind) {
        case btf_kind::struct_:
        case btf_kind::union_: {
          tail_[id] = static_cast<std::uint32_t>(members_.size());
          auto m = types.members(id);
          members_.insert(members_.end(), m.begin(), m.end());
          break;
        }
        case btf_kind::enum_:
        case btf_kind::enum64: {
          tail_[id] = static_cast<std::uint32_t>(enumerators_.size());
          auto e = types.enumerators(id);
          enumerators_.insert(enumerators_.end(), e.begin(), e.end());
          break;
        }
        case btf_kind::function_proto: {
          tail_[id] = static_cast<std::uint32_t>(parameters_.size());
          auto p = types.parameters(id);
          parameters_.insert(parameters_.end(), p.begin(), p.end());
          break;
        }
        case btf_kind::array:
          tail_[id] = static_cast<std::uint32_t>(arrays_.size());
          arrays_.push_back(types.array(id));
          break;
        case btf_kind::datasec: {
          // Only for "referenced"; a datasec's variables are never printed.
          for (const auto& v : types.datasec_vars(id)) datasec_refs_.push_back(v.type);
          break;
        }
        case btf_kind::decl_tag:
          if (types.decl_tag_component(id) == -1) decl_tags_.push_back(id);
          break;
        default:
          break;
      }
    }
    states_.assign(count, type_state{});
    // Void is always there and needs no definition.
    states_[0].order = order_state::ordered;
    states_[0].emit = emit_state::emitted;
    align_cache_.assign(count, align_unknown);
  }

  std::span<const btf_member> members(std::uint32_t id) const {
    return {members_.data() + tail_[id], types_[id].vlen};
  }
  std::span<const btf_enumerator> enumerators(std::uint32_t id) const {
    return {enumerators_.data() + tail_[id], types_[id].vlen};
  }
  std::span<const btf_parameter> parameters(std::uint32_t id) const {
    return {parameters_.data() + tail_[id], types_[id].vlen};
  }
  const btf::array_info& array(std::uint32_t id) const { return arrays_[tail_[id]]; }
  bool named(std::uint32_t id) const { return !types_[id].name.empty(); }
  bool is_composite(std::uint32_t id) const {
    return types_[id].kind == btf_kind::struct_ || types_[id].kind == btf_kind::union_;
  }

  // The size of `long` decides the widest padding unit (libbpf's determine_ptr_size); BPF and
  // every 64-bit kernel have 8.
  int find_pointer_size() const {
    static constexpr std::string_view long_names[] = {
        "long",          "long int",          "int long",          "unsigned long",
        "long unsigned", "unsigned long int", "unsigned int long", "long unsigned int",
        "long int unsigned", "int unsigned long", "int long unsigned"};
    for (std::uint32_t id = 1; id < types_.size(); ++id) {
      const btf_type& t = types_[id];
      if (t.kind != btf_kind::integer || (t.size_or_type != 4 && t.size_or_type != 8)) continue;
      if (std::find(std::begin(long_names), std::end(long_names), t.name) != std::end(long_names)) {
        return static_cast<int>(t.size_or_type);
      }
    }
    return 8;
  }

  // A top-level anonymous enum (a set of constants) is printed on its own; one that a member or
  // typedef refers to is printed inline there instead. Only references tell them apart.
  void mark_referenced() {
    auto mark = [this](std::uint32_t id) {
      if (id < states_.size()) states_[id].referenced = true;
    };
    for (std::uint32_t id = 1; id < types_.size(); ++id) {
      const btf_type& t = types_[id];
      switch (t.kind) {
        case btf_kind::pointer:
        case btf_kind::typedef_:
        case btf_kind::volatile_:
        case btf_kind::const_:
        case btf_kind::restrict_:
        case btf_kind::function:
        case btf_kind::variable:
        case btf_kind::decl_tag:
        case btf_kind::type_tag:
        case btf_kind::function_proto:
          mark(t.size_or_type);
          break;
        case btf_kind::array:
          mark(array(id).element_type);
          mark(array(id).index_type);
          break;
        default:
          break;
      }
      if (is_composite(id)) {
        for (const btf_member& m : members(id)) mark(m.type);
      } else if (t.kind == btf_kind::function_proto) {
        for (const btf_parameter& p : parameters(id)) mark(p.type);
      }
    }
    for (std::uint32_t id : datasec_refs_) mark(id);
  }

  // ---- output --------------------------------------------------------------------------------

  c_writer& put(std::string_view text) {
    out_.append(text);
    return *this;
  }
  c_writer& put(char c) {
    out_.push_back(c);
    return *this;
  }
  template <typename Int>
  c_writer& put_number(Int value) {
    char buffer[24];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, result.ptr);
    return *this;
  }
  // libbpf indents with tabs, at most 13 of them.
  c_writer& indent(int level) {
    out_.append(static_cast<std::size_t>(std::clamp(level, 0, 13)), '\t');
    return *this;
  }

  void check_output(std::uint32_t id) const {
    if (out_.size() > max_output_) {
      fail(id, "the C header would exceed " + num(max_output_) + " bytes (c_dump_options::max_size)");
    }
  }

  // Counts recursion into the walks below; see max_nesting.
  struct nesting {
    explicit nesting(c_writer& w, std::uint32_t id) : w_(w) {
      if (++w_.depth_ > max_nesting) fail(id, "types nest deeper than " + num(max_nesting) + " levels (a loop?)");
    }
    ~nesting() { --w_.depth_; }
    nesting(const nesting&) = delete;
    nesting& operator=(const nesting&) = delete;
    c_writer& w_;
  };

  // ---- names ---------------------------------------------------------------------------------

  std::string_view resolve_name(std::uint32_t id, std::unordered_map<std::string_view, std::uint32_t>& seen) {
    const btf_type& t = types_[id];
    if (t.name.empty()) return {};
    type_state& s = states_[id];
    if (s.name_resolved) {
      auto it = unique_names_.find(id);
      return it != unique_names_.end() ? std::string_view(it->second) : t.name;
    }
    if (!is_identifier(t.name)) fail(id, "name '" + std::string(t.name) + "' is not a C identifier");
    s.name_resolved = true;
    // A forward declaration (and an enum without values, the forward declaration of an enum)
    // may repeat the name of the full type: they declare the same thing.
    if (t.kind == btf_kind::forward || (t.kind == btf_kind::enum_ && t.vlen == 0)) return t.name;
    std::uint32_t dups = ++seen[t.name];
    if (dups == 1) return t.name;
    auto [it, inserted] = unique_names_.emplace(id, std::string(t.name) + "___" + num(dups));
    return it->second;
  }
  std::string_view tag_name(std::uint32_t id) { return resolve_name(id, tag_names_); }
  std::string_view ident_name(std::uint32_t id) { return resolve_name(id, ident_names_); }

  std::string_view checked(std::uint32_t id, std::string_view name) const {
    if (!name.empty() && !is_identifier(name)) fail(id, "name '" + std::string(name) + "' is not a C identifier");
    return name;
  }

  // ---- layout --------------------------------------------------------------------------------

  static constexpr int align_unknown = -1;
  static constexpr int align_computing = -2;

  // Natural alignment in bytes (libbpf's btf__align_of); 0 when the type has none (void,
  // function). A struct whose members are not all naturally placed was packed: alignment 1.
  int align_of(std::uint32_t id) {
    nesting guard(*this, id);
    const btf_type& t = types_[id];
    switch (t.kind) {
      case btf_kind::integer:
      case btf_kind::enum_:
      case btf_kind::enum64:
      case btf_kind::floating:
        return static_cast<int>(std::min<std::uint32_t>(static_cast<std::uint32_t>(pointer_size_), t.size_or_type));
      case btf_kind::pointer:
        return pointer_size_;
      case btf_kind::typedef_:
      case btf_kind::volatile_:
      case btf_kind::const_:
      case btf_kind::restrict_:
      case btf_kind::type_tag:
        return align_of(t.size_or_type);
      case btf_kind::array:
        return align_of(array(id).element_type);
      case btf_kind::struct_:
      case btf_kind::union_: {
        int& cached = align_cache_[id];
        if (cached >= 0) return cached;
        if (cached == align_computing) return 0;  // contains itself: no C form, reported elsewhere
        cached = align_computing;
        int max_align = 1;
        int result = 0;
        bool done = false;
        for (const btf_member& m : members(id)) {
          int a = align_of(m.type);
          if (a <= 0) {
            done = true;
            break;
          }
          max_align = std::max(max_align, a);
          if (m.bitfield_size == 0 && m.bit_offset % (8u * static_cast<std::uint32_t>(a)) != 0) {
            result = 1;
            done = true;
            break;
          }
        }
        if (!done) result = t.size_or_type % static_cast<std::uint32_t>(max_align) != 0 ? 1 : max_align;
        cached = result;
        return result;
      }
      default:
        return 0;
    }
  }

  // Size in bytes (libbpf's btf__resolve_size), 0 for types without one.
  std::uint64_t size_of(std::uint32_t id) const {
    std::uint64_t multiplier = 1;
    for (std::uint32_t steps = 0; steps < types_.size(); ++steps) {
      const btf_type& t = types_[id];
      switch (t.kind) {
        case btf_kind::integer:
        case btf_kind::struct_:
        case btf_kind::union_:
        case btf_kind::enum_:
        case btf_kind::enum64:
        case btf_kind::floating:
        case btf_kind::datasec:
          return multiplier * t.size_or_type;
        case btf_kind::pointer:
          return multiplier * static_cast<std::uint64_t>(pointer_size_);
        case btf_kind::typedef_:
        case btf_kind::volatile_:
        case btf_kind::const_:
        case btf_kind::restrict_:
        case btf_kind::type_tag:
        case btf_kind::variable:
          id = t.size_or_type;
          break;
        case btf_kind::array:
          multiplier *= array(id).count;
          if (multiplier > (std::uint64_t{1} << 40)) return 0;  // nothing real is this large
          id = array(id).element_type;
          break;
        default:
          return 0;
      }
    }
    return 0;
  }

  // libbpf's btf_is_struct_packed: a non-bitfield member off its natural alignment, or a size
  // that is no multiple of the largest alignment, cannot come from a plain struct.
  bool is_packed(std::uint32_t id) {
    int max_align = 1;
    for (const btf_member& m : members(id)) {
      int a = align_of(m.type);
      if (a > 0 && m.bitfield_size == 0 && m.bit_offset % (8u * static_cast<std::uint32_t>(a)) != 0) return true;
      max_align = std::max(max_align, a);
    }
    return types_[id].size_or_type % static_cast<std::uint32_t>(max_align) != 0;
  }

  static std::int64_t round_up(std::int64_t value, std::int64_t unit) { return (value + unit - 1) / unit * unit; }

  // Fills the bits [cur, next) with anonymous bitfields. The widest unit (long, int, short,
  // char) whose boundary lies inside the gap is used: the compiler aligns `long: N` to a long
  // even in a struct of ints, so a `long: 0` (or the bits up to that boundary, inside a run of
  // bitfields) moves to the boundary and whole units fill the rest. The explicit alignment
  // marker is needed when the next member would not be aligned there by itself, or when the
  // rest of the gap fits into the hole before the boundary (the compiler would pack it there).
  void bit_padding(std::int64_t cur, std::int64_t next, int next_align, bool in_bitfield, int level) {
    if (cur >= next) return;
    const struct {
      std::string_view name;
      std::int64_t bits;
    } pads[] = {{"long", std::int64_t{pointer_size_} * 8}, {"int", 32}, {"short", 16}, {"char", 8}};
    std::int64_t new_off = 0;
    std::int64_t pad_bits = 0;
    std::string_view pad_type;
    for (const auto& pad : pads) {
      pad_bits = pad.bits;
      pad_type = pad.name;
      new_off = round_up(cur, pad_bits);
      if (new_off <= next) break;
    }
    if (new_off > cur && new_off <= next) {
      std::int64_t align_bits = std::int64_t{std::max(next_align, 1)} * 8;
      if (in_bitfield || (new_off == next && round_up(cur, align_bits) != new_off) ||
          (new_off != next && next - new_off <= new_off - cur)) {
        put('\n').indent(level).put(pad_type).put(": ").put_number(in_bitfield ? new_off - cur : 0).put(';');
      }
      cur = new_off;
    }
    // Each line is at least "\n\tlong: 64;": refuse a gap whose padding alone is over budget
    // before writing any of it.
    if (static_cast<std::uint64_t>((next - cur) / pad_bits) > (max_output_ - std::min(max_output_, out_.size())) / 10) {
      fail(padding_owner_, "padding of " + num(static_cast<std::uint64_t>(next - cur) / 8) +
                               " bytes would make the C header exceed " + num(max_output_) +
                               " bytes (c_dump_options::max_size)");
    }
    while (cur != next) {
      std::int64_t bits = std::min(next - cur, pad_bits);
      if (bits == pad_bits) {
        check_output(padding_owner_);
        put('\n').indent(level).put(pad_type).put(": ").put_number(pad_bits).put(';');
        cur += bits;
        continue;
      }
      // The rest, in the smallest unit that holds it.
      for (auto it = std::rbegin(pads); it != std::rend(pads); ++it) {
        if (it->bits < bits) continue;
        pad_type = it->name;
        pad_bits = it->bits;
        put('\n').indent(level).put(pad_type).put(": ").put_number(bits).put(';');
        cur += bits;
        break;
      }
    }
  }

  // ---- pass 1: order -------------------------------------------------------------------------

  void dump(std::uint32_t id) {
    queue_.clear();
    order(id, false);
    for (std::uint32_t queued : queue_) emit(queued, 0);
  }

  // Returns true for a strong link (the type must be fully defined first), false for a weak one
  // (a forward declaration will do).
  bool order(std::uint32_t id, bool through_pointer) {
    type_state& state = states_[id];
    if (state.order == order_state::ordered) return true;
    const btf_type& t = types_[id];
    if (state.order == order_state::ordering) {
      // Back at a type being ordered: fine through a pointer to a named struct (it gets a
      // forward declaration); by value it would contain itself.
      if (is_composite(id) && through_pointer && named(id)) return false;
      fail(id, "the " + std::string(to_string(t.kind)) + " '" + std::string(t.name) +
                   "' contains itself (a loop of types without a pointer to a named struct)");
    }
    nesting guard(*this, id);
    switch (t.kind) {
      case btf_kind::integer:
      case btf_kind::floating:
        state.order = order_state::ordered;
        return false;
      case btf_kind::pointer: {
        bool strong = order(t.size_or_type, true);
        states_[id].order = order_state::ordered;
        return strong;
      }
      case btf_kind::array:
        return order(array(id).element_type, false);
      case btf_kind::struct_:
      case btf_kind::union_: {
        // Strong only by value, or when anonymous (defined inline even behind a pointer).
        if (through_pointer && named(id)) return false;
        state.order = order_state::ordering;
        for (const btf_member& m : members(id)) order(m.type, false);
        if (named(id)) queue_.push_back(id);
        states_[id].order = order_state::ordered;
        return true;
      }
      case btf_kind::enum_:
      case btf_kind::enum64:
      case btf_kind::forward:
        // Named enums and forward declarations are definitions of their own; so is an
        // anonymous enum nobody refers to (a block of constants).
        if (named(id) || !state.referenced) queue_.push_back(id);
        state.order = order_state::ordered;
        return true;
      case btf_kind::typedef_: {
        bool strong = order(t.size_or_type, through_pointer);
        // Like a struct: behind a pointer to something only declared, it can wait.
        if (through_pointer && !strong) return false;
        queue_.push_back(id);
        states_[id].order = order_state::ordered;
        return true;
      }
      case btf_kind::volatile_:
      case btf_kind::const_:
      case btf_kind::restrict_:
      case btf_kind::type_tag:
        return order(t.size_or_type, through_pointer);
      case btf_kind::function_proto: {
        bool strong = order(t.size_or_type, through_pointer);
        for (const btf_parameter& p : parameters(id)) {
          if (order(p.type, through_pointer)) strong = true;
        }
        return strong;
      }
      case btf_kind::function:
      case btf_kind::variable:
      case btf_kind::datasec:
      case btf_kind::decl_tag:
      case btf_kind::unknown:
        state.order = order_state::ordered;
        return false;
    }
    return false;
  }

  // ---- pass 2: emit --------------------------------------------------------------------------

  static bool is_builtin(std::string_view name) { return name == "__builtin_va_list"; }

  // `container` is the named struct/union whose definition is being printed (0 at top level):
  // a pointer back to it needs no forward declaration.
  void emit(std::uint32_t id, std::uint32_t container) {
    type_state& state = states_[id];
    if (state.emit == emit_state::emitted) return;
    const btf_type& t = types_[id];
    nesting guard(*this, id);
    if (state.emit == emit_state::emitting) {
      if (state.fwd_emitted) return;
      if (is_composite(id)) {
        if (id == container) return;
        if (!named(id)) fail(id, "an anonymous struct or union contains itself");
        struct_forward(id);
        put(";\n\n");
        states_[id].fwd_emitted = true;
      } else if (t.kind == btf_kind::typedef_) {
        // Used through a pointer while its target is still being defined: the typedef itself
        // can come now, it only needs the target declared.
        if (!is_builtin(t.name)) {
          typedef_definition(id, 0);
          put(";\n\n");
        }
        states_[id].fwd_emitted = true;
      }
      return;
    }
    bool top_level = container == 0;
    switch (t.kind) {
      case btf_kind::integer:
        missing_alias(id);
        state.emit = emit_state::emitted;
        break;
      case btf_kind::enum_:
      case btf_kind::enum64:
        if (top_level) {
          enum_definition(id, 0);
          put(";\n\n");
        }
        states_[id].emit = emit_state::emitted;
        break;
      case btf_kind::pointer:
      case btf_kind::volatile_:
      case btf_kind::const_:
      case btf_kind::restrict_:
      case btf_kind::type_tag:
        emit(t.size_or_type, container);
        break;
      case btf_kind::array:
        emit(array(id).element_type, container);
        break;
      case btf_kind::forward:
        forward_definition(id);
        put(";\n\n");
        states_[id].emit = emit_state::emitted;
        break;
      case btf_kind::typedef_:
        state.emit = emit_state::emitting;
        emit(t.size_or_type, id);
        if (!states_[id].fwd_emitted && !is_builtin(t.name)) {
          typedef_definition(id, 0);
          put(";\n\n");
        }
        states_[id].emit = emit_state::emitted;
        break;
      case btf_kind::struct_:
      case btf_kind::union_: {
        state.emit = emit_state::emitting;
        // A definition printed here (top level, or anonymous and so inline) spells out every
        // member's type: those need their declarations first.
        if (top_level || !named(id)) {
          std::uint32_t inner = named(id) ? id : container;
          for (const btf_member& m : members(id)) emit(m.type, inner);
        } else if (!states_[id].fwd_emitted && id != container) {
          struct_forward(id);
          put(";\n\n");
          states_[id].fwd_emitted = true;
        }
        if (top_level) {
          struct_definition(id, 0);
          put(";\n\n");
          states_[id].emit = emit_state::emitted;
        } else {
          states_[id].emit = emit_state::not_emitted;
        }
        break;
      }
      case btf_kind::function_proto:
        emit(t.size_or_type, container);
        for (const btf_parameter& p : parameters(id)) emit(p.type, container);
        break;
      default:
        break;
    }
  }

  // GCC's Arm SIMD types are typedefs of these internal names, which clang lacks.
  void missing_alias(std::uint32_t id) {
    static constexpr std::string_view aliases[][2] = {{"__Poly8_t", "unsigned char"},
                                                      {"__Poly16_t", "unsigned short"},
                                                      {"__Poly64_t", "unsigned long long"},
                                                      {"__Poly128_t", "unsigned __int128"}};
    for (const auto& alias : aliases) {
      if (types_[id].name == alias[0]) put("typedef ").put(alias[1]).put(' ').put(alias[0]).put(";\n\n");
    }
  }

  void struct_forward(std::uint32_t id) {
    put(types_[id].kind == btf_kind::struct_ ? "struct" : "union");
    if (named(id)) put(' ').put(tag_name(id));
  }

  void struct_definition(std::uint32_t id, int level) {
    nesting guard(*this, id);
    const btf_type& t = types_[id];
    bool is_struct = t.kind == btf_kind::struct_;
    int align = align_of(id);
    bool packed = is_struct && is_packed(id);
    struct_forward(id);
    put(" {");
    std::int64_t offset = 0;
    bool previous_bitfield = false;
    padding_owner_ = id;
    for (const btf_member& m : members(id)) {
      check_output(id);
      padding_owner_ = id;  // a nested anonymous definition changed it
      std::int64_t member_offset = m.bit_offset;
      int member_align = packed ? 1 : align_of(m.type);
      bool in_bitfield = previous_bitfield && m.bitfield_size != 0;
      bit_padding(offset, member_offset, member_align, in_bitfield, level + 1);
      put('\n').indent(level + 1);
      declaration(m.type, checked(id, m.name), level + 1);
      if (m.bitfield_size != 0) {
        put(": ").put_number(m.bitfield_size);
        offset = member_offset + m.bitfield_size;
        previous_bitfield = true;
      } else {
        offset = member_offset + static_cast<std::int64_t>(size_of(m.type) * 8);
        previous_bitfield = false;
      }
      put(';');
    }
    padding_owner_ = id;
    if (is_struct) bit_padding(offset, std::int64_t{t.size_or_type} * 8, align, false, level + 1);
    // `struct empty {}` stays on one line.
    if (t.vlen != 0 || t.size_or_type != 0) put('\n').indent(level);
    put('}');
    if (packed) put(" __attribute__((packed))");
  }

  void enum_definition(std::uint32_t id, int level) {
    const btf_type& t = types_[id];
    put("enum");
    if (named(id)) put(' ').put(tag_name(id));
    if (t.vlen == 0) return;
    put(" {");
    bool wide = t.kind == btf_kind::enum64;
    bool high_bits = false;
    for (const btf_enumerator& e : enumerators(id)) {
      check_output(id);
      // Enumerators share the ordinary identifier namespace with typedefs.
      std::string_view name = checked(id, e.name);
      std::uint32_t dups = ++ident_names_[name];
      put('\n').indent(level + 1).put(name);
      if (dups > 1) put("___").put_number(dups);
      put(" = ");
      if (wide) {
        auto value = static_cast<std::uint64_t>(e.value);
        if (value >> 32 != 0) high_bits = true;
        if (t.kind_flag) {
          put_number(e.value).put("LL,");
        } else {
          put_number(value).put("ULL,");
        }
      } else {
        put_number(e.value).put(',');  // already sign- or zero-extended per kind_flag
      }
    }
    put('\n').indent(level).put('}');
    // C sizes an enum by its values; other sizes need the mode attribute. An 8-byte enum whose
    // values all fit in 32 bits would otherwise be 4 bytes.
    if (t.size_or_type == 1) {
      put(" __attribute__((mode(byte)))");
    } else if (t.size_or_type == 8 && pointer_size_ == 8 && (!wide || !high_bits)) {
      put(" __attribute__((mode(word)))");
    }
  }

  void forward_definition(std::uint32_t id) {
    put(types_[id].kind_flag ? "union " : "struct ").put(tag_name(id));
  }

  void typedef_definition(std::uint32_t id, int level) {
    std::string_view name = ident_name(id);
    // Old GCC describes __gnuc_va_list as a typedef of void.
    if (types_[id].size_or_type == 0 && name == "__gnuc_va_list") {
      put("typedef __builtin_va_list __gnuc_va_list");
      return;
    }
    put("typedef ");
    declaration(types_[id].size_or_type, name, level);
  }

  // ---- declarations --------------------------------------------------------------------------

  // Prints `type name` for a member, parameter or typedef: pushes the chain of types down to the
  // base type, then unwinds it (declarator()).
  void declaration(std::uint32_t id, std::string_view name, int level) {
    nesting guard(*this, id);
    std::size_t base = stack_.size();
    for (;;) {
      stack_.push_back(id);
      if (stack_.size() - base > types_.size()) fail(id, "the chain of modifiers loops");
      if (id == 0) break;
      const btf_type& t = types_[id];
      bool base_type = false;
      switch (t.kind) {
        case btf_kind::pointer:
        case btf_kind::volatile_:
        case btf_kind::const_:
        case btf_kind::restrict_:
        case btf_kind::function_proto:
        case btf_kind::type_tag:
          id = t.size_or_type;
          break;
        case btf_kind::array:
          id = array(id).element_type;
          break;
        case btf_kind::integer:
        case btf_kind::enum_:
        case btf_kind::enum64:
        case btf_kind::forward:
        case btf_kind::struct_:
        case btf_kind::union_:
        case btf_kind::typedef_:
        case btf_kind::floating:
          base_type = true;
          break;
        default:
          fail(id, "a " + std::string(to_string(t.kind)) + " cannot be part of a C declaration");
      }
      if (base_type) break;
    }
    decl_frame frame{base, stack_.size() - base};
    declarator(frame, name, level);
    stack_.resize(base);
  }

  std::uint32_t top(const decl_frame& frame) const { return stack_[frame.base + frame.count - 1]; }

  // const/volatile/restrict of a non-pointer come before it: `const int`.
  void leading_modifiers(decl_frame& frame) {
    while (frame.count != 0) {
      switch (types_[top(frame)].kind) {
        case btf_kind::volatile_: put("volatile "); break;
        case btf_kind::const_: put("const "); break;
        case btf_kind::restrict_: put("restrict "); break;
        default: return;
      }
      --frame.count;
    }
  }

  // Qualifiers on an array or a function mean nothing in C (GCC emits them for arrays of const
  // and for noreturn function pointers); they are dropped.
  void drop_modifiers(decl_frame& frame) {
    while (frame.count != 0 && is_modifier(types_[top(frame)].kind)) --frame.count;
  }

  void name_after(std::string_view name, bool last_was_pointer) {
    if (!name.empty() && !last_was_pointer) put(' ');
    put(name);
  }

  void declarator(decl_frame& frame, std::string_view name, int level) {
    nesting guard(*this, frame.count != 0 ? top(frame) : 0);
    // `int ***p`, not `int * * *p`; and for a lone pointer in a function pointer, `(*name)`.
    bool last_was_pointer = true;
    while (frame.count != 0) {
      std::uint32_t id = stack_[frame.base + --frame.count];
      if (id == 0) {
        leading_modifiers(frame);
        put("void");
        last_was_pointer = false;
        continue;
      }
      const btf_type& t = types_[id];
      switch (t.kind) {
        case btf_kind::integer:
        case btf_kind::floating:
          leading_modifiers(frame);
          if (!is_base_type_name(t.name)) fail(id, "'" + std::string(t.name) + "' is not a C type name");
          put(t.name);
          break;
        case btf_kind::struct_:
        case btf_kind::union_:
          leading_modifiers(frame);
          if (named(id)) {
            struct_forward(id);
          } else {
            struct_definition(id, level);
          }
          break;
        case btf_kind::enum_:
        case btf_kind::enum64:
          leading_modifiers(frame);
          if (named(id)) {
            put("enum ").put(tag_name(id));
          } else {
            enum_definition(id, level);
          }
          break;
        case btf_kind::forward:
          leading_modifiers(frame);
          forward_definition(id);
          break;
        case btf_kind::typedef_:
          leading_modifiers(frame);
          put(ident_name(id));
          break;
        case btf_kind::pointer:
          put(last_was_pointer ? "*" : " *");
          break;
        case btf_kind::volatile_:
          put(" volatile");
          break;
        case btf_kind::const_:
          put(" const");
          break;
        case btf_kind::restrict_:
          put(" restrict");
          break;
        case btf_kind::type_tag:
          leading_modifiers(frame);
          if (!is_tag_text(t.name)) fail(id, "type tag '" + std::string(t.name) + "' cannot be written in C");
          if (t.kind_flag) {
            // kind_flag: the tag is an attribute in its own right, e.g. address_space(1).
            put(" __attribute__((").put(t.name).put("))");
          } else {
            put(" __btf_type_tag(\"").put(t.name).put("\")");
          }
          break;
        case btf_kind::array: {
          drop_modifiers(frame);
          std::uint32_t count = array(id).count;
          if (frame.count == 0) {
            name_after(name, last_was_pointer);
            put('[').put_number(count).put(']');
            return;
          }
          // Around a pointer or function: `int (*name)[4]`; a nested array needs none:
          // `int name[2][4]`.
          bool multi_dimensional = types_[top(frame)].kind == btf_kind::array;
          if (!name.empty() && !last_was_pointer) put(' ');
          if (!multi_dimensional) put('(');
          declarator(frame, name, level);
          if (!multi_dimensional) put(')');
          put('[').put_number(count).put(']');
          return;
        }
        case btf_kind::function_proto: {
          drop_modifiers(frame);
          if (frame.count != 0) {
            put(" (");
            declarator(frame, name, level);
            put(')');
          } else {
            name_after(name, last_was_pointer);
          }
          put('(');
          auto params = parameters(id);
          // No parameters, or clang's single void parameter: (void), never the K&R `()`.
          if (params.empty() || (params.size() == 1 && params[0].type == 0)) {
            put("void)");
            return;
          }
          for (std::size_t i = 0; i < params.size(); ++i) {
            if (i > 0) put(", ");
            if (i + 1 == params.size() && params[i].type == 0) {
              put("...");  // a trailing void parameter is a variadic function's ...
              break;
            }
            declaration(params[i].type, checked(id, params[i].name), level);
          }
          put(')');
          return;
        }
        default:
          fail(id, "a " + std::string(to_string(t.kind)) + " cannot be part of a C declaration");
      }
      last_was_pointer = t.kind == btf_kind::pointer;
    }
    name_after(name, last_was_pointer);
  }

  // ---- kfuncs --------------------------------------------------------------------------------

  // bpftool's dump_btf_kfuncs: a FUNC tagged "bpf_kfunc" is callable from BPF; declaring it
  // here spares each program its own `extern` line. "bpf_fastcall" marks kfuncs that keep the
  // caller's registers.
  void write_kfuncs() {
    std::vector<std::uint32_t> kfuncs;
    std::vector<std::uint32_t> fastcalls;
    for (std::uint32_t tag : decl_tags_) {
      std::uint32_t target = types_[tag].size_or_type;
      if (types_[target].kind != btf_kind::function) continue;
      if (types_[tag].name == "bpf_kfunc") kfuncs.push_back(target);
      if (types_[tag].name == "bpf_fastcall") fastcalls.push_back(target);
    }
    std::sort(kfuncs.begin(), kfuncs.end(), [this](std::uint32_t a, std::uint32_t b) {
      return types_[a].name != types_[b].name ? types_[a].name < types_[b].name : a < b;
    });
    kfuncs.erase(std::unique(kfuncs.begin(), kfuncs.end()), kfuncs.end());
    std::sort(fastcalls.begin(), fastcalls.end());
    put("\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n");
    for (std::uint32_t func : kfuncs) {
      put("extern ");
      if (std::binary_search(fastcalls.begin(), fastcalls.end(), func)) put("__bpf_fastcall ");
      std::uint32_t proto = types_[func].size_or_type;
      if (types_[proto].kind != btf_kind::function_proto) fail(func, "the function's type is not a func_proto");
      if (!is_identifier(types_[func].name)) fail(func, "name '" + std::string(types_[func].name) + "' is not a C identifier");
      declaration(proto, types_[func].name, 0);
      put(" __weak __ksym;\n");
    }
    put("#endif\n\n");
  }

  std::string& out_;
  std::size_t max_output_;
  std::vector<btf_type> types_;
  std::vector<std::uint32_t> tail_;  // id -> index of its first member/enumerator/parameter/array
  std::vector<btf_member> members_;
  std::vector<btf_enumerator> enumerators_;
  std::vector<btf_parameter> parameters_;
  std::vector<btf::array_info> arrays_;
  std::vector<std::uint32_t> datasec_refs_;
  std::vector<std::uint32_t> decl_tags_;  // decl tags on a whole type (component -1)
  std::vector<type_state> states_;
  std::vector<int> align_cache_;  // struct/union id -> alignment (align_unknown until computed)
  std::unordered_map<std::string_view, std::uint32_t> tag_names_;    // struct/union/enum tags
  std::unordered_map<std::string_view, std::uint32_t> ident_names_;  // typedefs, enumerators
  std::unordered_map<std::uint32_t, std::string> unique_names_;      // id -> name___N
  std::vector<std::uint32_t> queue_;  // definitions one root needs, in order
  std::vector<std::uint32_t> stack_;  // declaration chains being printed
  int pointer_size_ = 8;
  int depth_ = 0;
  std::uint32_t padding_owner_ = 0;  // the struct whose padding is being written (for errors)
};

// ---- raw ---------------------------------------------------------------------------------------

std::string_view upper_kind(btf_kind kind) {
  switch (kind) {
    case btf_kind::unknown: return "UNKNOWN";
    case btf_kind::integer: return "INT";
    case btf_kind::pointer: return "PTR";
    case btf_kind::array: return "ARRAY";
    case btf_kind::struct_: return "STRUCT";
    case btf_kind::union_: return "UNION";
    case btf_kind::enum_: return "ENUM";
    case btf_kind::forward: return "FWD";
    case btf_kind::typedef_: return "TYPEDEF";
    case btf_kind::volatile_: return "VOLATILE";
    case btf_kind::const_: return "CONST";
    case btf_kind::restrict_: return "RESTRICT";
    case btf_kind::function: return "FUNC";
    case btf_kind::function_proto: return "FUNC_PROTO";
    case btf_kind::variable: return "VAR";
    case btf_kind::datasec: return "DATASEC";
    case btf_kind::floating: return "FLOAT";
    case btf_kind::decl_tag: return "DECL_TAG";
    case btf_kind::type_tag: return "TYPE_TAG";
    case btf_kind::enum64: return "ENUM64";
  }
  return "UNKNOWN";
}

std::string_view linkage_name(std::uint32_t linkage) {
  switch (linkage) {
    case 0: return "static";
    case 1: return "global";
    case 2: return "extern";
    default: return "(unknown)";
  }
}

class raw_writer {
 public:
  explicit raw_writer(std::string& out) : out_(out) {}

  void write(const btf& types) {
    for (std::uint32_t id = 1; id < types.type_count(); ++id) record(types, id);
  }

 private:
  raw_writer& put(std::string_view text) {
    out_.append(text);
    return *this;
  }
  template <typename Int>
  raw_writer& put_number(Int value) {
    char buffer[24];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, result.ptr);
    return *this;
  }
  raw_writer& quoted(std::string_view name) {
    out_.push_back('\'');
    out_.append(name.empty() ? std::string_view("(anon)") : name);
    out_.push_back('\'');
    return *this;
  }

  void record(const btf& types, std::uint32_t id) {
    btf_type t = types.type(id);
    put("[").put_number(id).put("] ").put(upper_kind(t.kind)).put(" ").quoted(t.name);
    switch (t.kind) {
      case btf_kind::integer: {
        auto info = types.integer(id);
        std::string_view encoding = "UNKN";
        switch (info.encoding) {
          case 0: encoding = "(none)"; break;
          case btf_int_signed: encoding = "SIGNED"; break;
          case btf_int_char: encoding = "CHAR"; break;
          case btf_int_bool: encoding = "BOOL"; break;
          default: break;
        }
        put(" size=").put_number(t.size_or_type).put(" bits_offset=").put_number(unsigned{info.bit_offset});
        put(" nr_bits=").put_number(unsigned{info.bits}).put(" encoding=").put(encoding);
        break;
      }
      case btf_kind::pointer:
      case btf_kind::const_:
      case btf_kind::volatile_:
      case btf_kind::restrict_:
      case btf_kind::typedef_:
      case btf_kind::type_tag:
        put(" type_id=").put_number(t.size_or_type);
        break;
      case btf_kind::array: {
        auto a = types.array(id);
        put(" type_id=").put_number(a.element_type).put(" index_type_id=").put_number(a.index_type);
        put(" nr_elems=").put_number(a.count);
        break;
      }
      case btf_kind::struct_:
      case btf_kind::union_:
        put(" size=").put_number(t.size_or_type).put(" vlen=").put_number(t.vlen);
        for (const btf_member& m : types.members(id)) {
          put("\n\t").quoted(m.name).put(" type_id=").put_number(m.type).put(" bits_offset=").put_number(m.bit_offset);
          if (m.bitfield_size != 0) put(" bitfield_size=").put_number(m.bitfield_size);
        }
        break;
      case btf_kind::enum_:
      case btf_kind::enum64:
        put(" encoding=").put(t.kind_flag ? "SIGNED" : "UNSIGNED").put(" size=").put_number(t.size_or_type);
        put(" vlen=").put_number(t.vlen);
        for (const btf_enumerator& e : types.enumerators(id)) {
          put("\n\t").quoted(e.name).put(" val=");
          if (t.kind == btf_kind::enum_) {
            put_number(e.value);  // sign- or zero-extended per kind_flag, as bpftool's %d / %u
          } else if (t.kind_flag) {
            put_number(e.value).put("LL");
          } else {
            put_number(static_cast<std::uint64_t>(e.value)).put("ULL");
          }
        }
        break;
      case btf_kind::forward:
        put(" fwd_kind=").put(t.kind_flag ? "union" : "struct");
        break;
      case btf_kind::function:
        put(" type_id=").put_number(t.size_or_type).put(" linkage=").put(linkage_name(types.func_linkage(id)));
        break;
      case btf_kind::function_proto:
        put(" ret_type_id=").put_number(t.size_or_type).put(" vlen=").put_number(t.vlen);
        for (const btf_parameter& p : types.parameters(id)) {
          put("\n\t").quoted(p.name).put(" type_id=").put_number(p.type);
        }
        break;
      case btf_kind::variable:
        put(" type_id=").put_number(t.size_or_type).put(", linkage=").put(linkage_name(types.var_linkage(id)));
        break;
      case btf_kind::datasec:
        put(" size=").put_number(t.size_or_type).put(" vlen=").put_number(t.vlen);
        for (const btf_var_section_info& v : types.datasec_vars(id)) {
          put("\n\ttype_id=").put_number(v.type).put(" offset=").put_number(v.offset).put(" size=").put_number(v.size);
          if (v.type < types.type_count()) {
            btf_type var = types.type(v.type);
            put(" (").put(upper_kind(var.kind)).put(" ").quoted(var.name).put(")");
          }
        }
        break;
      case btf_kind::floating:
        put(" size=").put_number(t.size_or_type);
        break;
      case btf_kind::decl_tag:
        put(" type_id=").put_number(t.size_or_type).put(" component_idx=").put_number(types.decl_tag_component(id));
        break;
      case btf_kind::unknown:
        break;
    }
    out_.push_back('\n');
  }

  std::string& out_;
};

}  // namespace

std::string c_header(const btf& types, const c_dump_options& options) {
  std::string out;
  c_writer(types, out, options.max_size).write(options);
  return out;
}

void write_c_header(const btf& types, std::ostream& out, const c_dump_options& options) {
  std::string text = c_header(types, options);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::string raw_dump(const btf& types) {
  std::string out;
  raw_writer(out).write(types);
  return out;
}

void write_raw_dump(const btf& types, std::ostream& out) {
  std::string text = raw_dump(types);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace ebpf
