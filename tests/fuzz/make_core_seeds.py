#!/usr/bin/env python3
"""Writes the seed corpus tests/fuzz/corpus/core/ for core_fuzz.cpp.

Usage: tests/fuzz/make_core_seeds.py BUILD_DIR/tests/bpf [LLVM_OBJCOPY]

Seeds are clang's CO-RE relocations of core_layout_v1.bpf.o and core_layout_v2.bpf.o (see
tests/bpf/core_layout.bpf.c) relocated against each other and themselves, with the instructions
they patch, plus small hand-built pairs for the rules (flavors, bitfields, enums, ambiguity,
missing types, loops). Input layout: u32 N, local .BTF, u32 M, target .BTF, then 32-byte records
(u32 instruction, u32 type id, u32 access string offset, u32 kind, 16 bytes of instructions).
Output is deterministic; re-run after changing core_layout.bpf.c and commit the result.
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_seeds import Btf  # noqa: E402  (the BTF writer shared with the btf/btf_ext seeds)

LDX_W = 0x61
MOV64_IMM = 0xB7
LD_IMM64 = 0x18


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def record(instruction, type_id, access_off, kind, code):
    code = (code + b"\0" * 16)[:16]
    return struct.pack("<IIII", instruction, type_id, access_off, kind) + code


def seed(local_btf, target_btf, records):
    return (struct.pack("<I", len(local_btf)) + local_btf + struct.pack("<I", len(target_btf)) + target_btf +
            b"".join(records))


def dump_sections(objcopy, obj, names):
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        args = [objcopy]
        for i, name in enumerate(names):
            args += ["--dump-section", "%s=%s" % (name, os.path.join(tmp, str(i)))]
        subprocess.run(args + [obj, os.path.join(tmp, "o")], check=True)
        for i, name in enumerate(names):
            with open(os.path.join(tmp, str(i)), "rb") as f:
                out[name] = f.read()
    return out


def btf_string(btf, offset):
    hdr_len, _, _, str_off, _ = struct.unpack_from("<IIIII", btf, 4)
    start = hdr_len + str_off + offset
    return btf[start:btf.index(b"\0", start)].decode()


def core_records(btf, ext):
    """[(section name, insn_off, type_id, access_off, kind)] from a .BTF.ext."""
    hdr_len = struct.unpack_from("<I", ext, 4)[0]
    core_off, core_len = struct.unpack_from("<II", ext, 24)
    data = ext[hdr_len + core_off:hdr_len + core_off + core_len]
    size = struct.unpack_from("<I", data, 0)[0]
    at, out = 4, []
    while at < len(data):
        name_off, count = struct.unpack_from("<II", data, at)
        at += 8
        for _ in range(count):
            out.append((btf_string(btf, name_off),) + struct.unpack_from("<IIII", data, at))
            at += size
    return out


def object_seed_parts(objcopy, obj):
    parts = dump_sections(objcopy, obj, [".BTF", ".BTF.ext"])
    btf, ext = parts[".BTF"], parts[".BTF.ext"]
    relos = core_records(btf, ext)
    code = dump_sections(objcopy, obj, sorted({r[0] for r in relos}))
    records = []
    for section, insn_off, type_id, access_off, kind in relos:
        text = code[section]
        # The fuzz target patches a two-instruction window: the relocated one first.
        records.append(record(0, type_id, access_off, kind, text[insn_off:insn_off + 16]))
    return btf, records


def hand_made():
    seeds = {}
    # Flavors and nested/anonymous fields: local task___old against target task.
    l = Btf()
    i = l.raw("int", "int", 0, 0, 4, [1 << 24 | 32])
    inner = l.raw("inner", "struct", 2, 0, 8, [l.s("a"), i, 0, l.s("b"), i, 32])
    arr = l.raw(0, "array", 0, 0, 0, [inner, i, 4])
    anon = l.raw(0, "union", 2, 0, 4, [l.s("u_i"), i, 0, l.s("u_c"), i, 0])
    task = l.raw("task___old", "struct", 4, 0, 48,
                 [l.s("pid"), i, 0, l.s("in"), inner, 32, l.s("items"), arr, 96, 0, anon, 352])
    paths = [l.s(p) for p in ("0:0", "0:1:1", "0:2:3:0", "0:3:0", "0:2:3", "1:0", "0")]
    t = Btf()
    ti = t.raw("int", "int", 0, 0, 4, [1 << 24 | 32])
    tl = t.raw("long", "int", 0, 0, 8, [1 << 24 | 64])
    tinner = t.raw("inner", "struct", 3, 0, 16, [t.s("x"), tl, 0, t.s("b"), ti, 64, t.s("a"), ti, 96])
    tarr = t.raw(0, "array", 0, 0, 0, [tinner, ti, 8])
    tanon = t.raw(0, "union", 1, 0, 4, [t.s("u_i"), ti, 0])
    twrap = t.raw(0, "struct", 2, 0, 8, [t.s("pad"), ti, 0, 0, tanon, 32])
    t.raw("task", "struct", 5, 0, 160,
          [t.s("x"), tl, 0, 0, twrap, 64, t.s("items"), tarr, 128, t.s("in"), tinner, 1152, t.s("pid"), ti, 1280])
    t.raw("task___2", "struct", 1, 0, 4, [t.s("pid"), ti, 0])  # a second candidate that disagrees
    records = []
    for k in range(6):
        for p in paths[:4]:
            records.append(record(0, task, p, k, insn(LDX_W, 1, 2, 4) + insn(0x95)))
    for k in (6, 7, 8, 9, 12):
        records.append(record(0, task, paths[6], k, insn(LD_IMM64, 1) + insn(0)))
    seeds["flavors_and_fields"] = seed(l.blob(), t.blob(), records)

    # Bitfields (kind_flag) and enums, enum64, signed.
    b = Btf()
    u = b.raw("unsigned int", "int", 0, 0, 4, [32])
    si = b.raw("int", "int", 0, 0, 4, [1 << 24 | 32])
    bits = b.raw("bits", "struct", 4, 1, 8, [b.s("a"), u, 3 << 24 | 0, b.s("b"), u, 9 << 24 | 3,
                                             b.s("c"), si, 5 << 24 | 12, b.s("d"), u, 4 << 24 | 30])
    e = b.raw("state", "enum", 3, 0, 4, [b.s("IDLE"), 0, b.s("RUNNING___v1"), 1, b.s("OLD"), 3])
    e64 = b.raw("wide", "enum64", 1, 0, 8, [b.s("BIG"), 0, 1])
    access = [b.s(p) for p in ("0:0", "0:1", "0:2", "0:3", "0", "1", "2")]
    tb = Btf()
    tu = tb.raw("unsigned int", "int", 0, 0, 4, [32])
    tsi = tb.raw("int", "int", 0, 0, 4, [1 << 24 | 32])
    tb.raw("bits", "struct", 5, 1, 16, [tb.s("pad"), tu, 7 << 24 | 0, tb.s("b"), tu, 9 << 24 | 7,
                                        tb.s("a"), tu, 3 << 24 | 16, tb.s("c"), tsi, 11 << 24 | 40,
                                        tb.s("d"), tu, 4 << 24 | 64])
    tb.raw("state", "enum", 2, 1, 4, [tb.s("RUNNING"), 5, tb.s("IDLE"), 0xFFFFFFFF])
    tb.raw("wide", "enum64", 1, 0, 8, [tb.s("BIG"), 0, 2])
    records = []
    for k in range(6):
        for a in access[:4]:
            records.append(record(1, bits, a, k, insn(MOV64_IMM, 1, 0, 0, 0) + insn(MOV64_IMM, 1, 0, 0, 4)))
    for k in (10, 11):
        for a in access[4:]:
            records.append(record(0, e, a, k, insn(LD_IMM64, 1, 0, 0, 1) + insn(0)))
        records.append(record(0, e64, access[4], k, insn(LD_IMM64, 1, 0, 0, 0) + insn(0, 0, 0, 0, 1)))
    seeds["bitfields_and_enums"] = seed(b.blob(), tb.blob(), records)

    # Loops and self-reference: typedef a -> const -> a; struct s { struct s m[16 times]; }.
    h = Btf()
    a = h.raw("a", "typedef", 0, 0, 2)
    h.raw(0, "const", 0, 0, 1)
    selfish = h.raw("self", "struct", 16, 0, 64, sum(([h.s("m"), 3, 32 * n] for n in range(16)), []))
    arr_self = h.raw(0, "array", 0, 0, 0, [4, a, 1])
    holder = h.raw("holder", "struct", 1, 0, 4, [h.s("x"), arr_self, 0])
    zero = h.s("0")
    records = [record(0, a, zero, 8, insn(MOV64_IMM)), record(0, selfish, zero, 12, insn(MOV64_IMM)),
               record(0, selfish, h.s("0:3:0"), 0, insn(LDX_W)), record(0, holder, h.s("0:0"), 0, insn(LDX_W)),
               record(0, holder, h.s("0:0:0:0"), 1, insn(MOV64_IMM))]
    seeds["loops"] = seed(h.blob(), h.blob(), records)

    # Malformed access strings and kinds.
    m = Btf()
    mi = m.raw("int", "int", 0, 0, 4, [1 << 24 | 32])
    ms = m.raw("s", "struct", 1, 0, 4, [m.s("a"), mi, 0])
    records = [record(0, ms, m.s(p), k, insn(MOV64_IMM))
               for p in ("", ":0", "0:", "0::1", "-1", "0:9", " 0:+0", "99999999999", "0:0:0", "a")
               for k in (0, 8, 10, 13)]
    records.append(record(0, 999, m.s("0"), 0, insn(MOV64_IMM)))
    seeds["malformed"] = seed(m.blob(), m.blob(), records)
    return seeds


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bpf_dir = sys.argv[1]
    objcopy = sys.argv[2] if len(sys.argv) > 2 else "llvm-objcopy-19"
    v1_btf, v1_records = object_seed_parts(objcopy, os.path.join(bpf_dir, "core_layout_v1.bpf.o"))
    v2_btf, v2_records = object_seed_parts(objcopy, os.path.join(bpf_dir, "core_layout_v2.bpf.o"))
    seeds = hand_made()
    seeds["clang_v1_against_v2"] = seed(v1_btf, v2_btf, v1_records)
    seeds["clang_v2_against_v1"] = seed(v2_btf, v1_btf, v2_records)
    seeds["clang_v1_against_itself"] = seed(v1_btf, v1_btf, v1_records)
    directory = os.path.join(HERE, "corpus", "core")
    os.makedirs(directory, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
