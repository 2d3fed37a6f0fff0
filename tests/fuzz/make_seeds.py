#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/btf/ and tests/fuzz/corpus/btf_ext/.

Usage: tests/fuzz/make_seeds.py BUILD_DIR/tests/bpf/btf_types.bpf.o [LLVM_OBJCOPY]

Seeds are small valid blobs (clang's .BTF/.BTF.ext of btf_types.bpf.o and hand-built ones with
every kind) plus one malformed blob per rejection the parser has, so the replay tests cover the
error paths and the fuzzer starts next to the interesting edges. Output is deterministic; re-run
after changing btf_types.bpf.c and commit the result.
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

KIND = dict(int=1, ptr=2, array=3, struct=4, union=5, enum=6, fwd=7, typedef=8, volatile=9,
            const=10, restrict=11, func=12, func_proto=13, var=14, datasec=15, float=16,
            decl_tag=17, type_tag=18, enum64=19)


class Btf:
    """A tiny BTF writer: types as 32-bit words, strings deduplicated."""

    def __init__(self):
        self.words = []
        self.strings = b"\0"
        self.next_id = 1

    def s(self, text):
        if not text:
            return 0
        data = text.encode() + b"\0"
        at = self.strings.find(data)
        if at > 0 and self.strings[at - 1] == 0:
            return at
        at = len(self.strings)
        self.strings += data
        return at

    def raw(self, name, kind, vlen, kflag, size_or_type, tail=()):
        self.words += [self.s(name) if isinstance(name, str) else name,
                       (kflag << 31) | (KIND[kind] << 24) | vlen, size_or_type & 0xffffffff]
        self.words += [w & 0xffffffff for w in tail]
        self.next_id += 1
        return self.next_id - 1

    def blob(self, magic=0xEB9F, version=1, flags=0, hdr_len=24, type_len=None, str_off=None,
             str_len=None):
        types = struct.pack("<%dI" % len(self.words), *self.words)
        t_len = len(types) if type_len is None else type_len
        s_off = len(types) if str_off is None else str_off
        s_len = len(self.strings) if str_len is None else str_len
        header = struct.pack("<HBBIIIII", magic, version, flags, hdr_len, 0, t_len, s_off, s_len)
        return header + b"\0" * (hdr_len - 24 if hdr_len > 24 else 0) + types + self.strings


def every_kind():
    b = Btf()
    i = b.raw("int", "int", 0, 0, 4, [1 << 24 | 32])
    u = b.raw("unsigned int", "int", 0, 0, 4, [32])
    p = b.raw(0, "ptr", 0, 0, i)
    arr = b.raw(0, "array", 0, 0, 0, [i, u, 4])
    st = b.raw("point", "struct", 3, 0, 24, [b.s("x"), i, 0, b.s("y"), i, 32, b.s("next"), p, 64])
    b.raw("bits", "struct", 2, 1, 4, [b.s("a"), u, 3 << 24 | 0, b.s("b"), u, 5 << 24 | 3])
    b.raw("either", "union", 2, 0, 4, [b.s("i"), i, 0, b.s("u"), u, 0])
    b.raw("color", "enum", 2, 1, 4, [b.s("red"), 0, b.s("minus"), -1])
    b.raw("opaque", "fwd", 0, 1, 0)
    td = b.raw("s32", "typedef", 0, 0, i)
    vol = b.raw(0, "volatile", 0, 0, td)
    cst = b.raw(0, "const", 0, 0, vol)
    b.raw(0, "restrict", 0, 0, p)
    proto = b.raw(0, "func_proto", 3, 0, i, [b.s("a"), i, b.s("p"), p, 0, 0])
    fn = b.raw("handler", "func", 1, 0, proto)
    var = b.raw("counter", "var", 0, 0, cst, [1])
    b.raw(".data", "datasec", 1, 0, 0, [var, 0, 4])
    b.raw("double", "float", 0, 0, 8)
    b.raw("user_arg", "decl_tag", 0, 0, fn, [1])
    b.raw("user", "type_tag", 0, 0, i)
    b.raw("wide", "enum64", 1, 0, 8, [b.s("huge"), 0x89abcdef, 0x1234567])
    b.raw("grid", "typedef", 0, 0, arr)
    b.raw("point", "typedef", 0, 0, st)
    return b


def btf_seeds(clang_btf):
    seeds = {"clang_btf_types.btf": clang_btf}
    b = every_kind()
    good = b.blob()
    seeds["every_kind.btf"] = good
    seeds["only_void.btf"] = Btf().blob()
    seeds["longer_header.btf"] = b.blob(hdr_len=32)
    seeds["empty"] = b""
    seeds["truncated_header"] = good[:20]
    seeds["bad_magic"] = b"\x12\x34" + good[2:]
    seeds["big_endian"] = b"\xeb\x9f" + good[2:]
    seeds["bad_version"] = good[:2] + b"\x02" + good[3:]
    seeds["types_beyond_blob"] = b.blob(type_len=len(b.words) * 4 + 4096)
    seeds["strings_beyond_blob"] = b.blob(str_len=len(b.strings) + 1)
    seeds["overlapping_sections"] = b.blob(str_off=0, str_len=8)
    seeds["truncated_types"] = b.blob(type_len=len(b.words) * 4 - 4)  # last record's tail cut

    bad_name = Btf()
    bad_name.raw(100000, "int", 0, 0, 4, [32])
    seeds["name_out_of_range"] = bad_name.blob()

    dangling = Btf()
    di = dangling.raw("int", "int", 0, 0, 4, [32])
    dangling.raw("foo", "struct", 2, 0, 8, [dangling.s("a"), di, 0, dangling.s("b"), 99999, 32])
    seeds["dangling_member"] = dangling.blob()

    vlen = Btf()
    vlen.raw("int", "int", 0, 0, 4, [32])
    vlen.raw("huge", "datasec", 0xFFFF, 0, 0, [1, 0, 4])
    seeds["vlen_overflow"] = vlen.blob()

    unknown = Btf()
    unknown.words += [0, 25 << 24, 0]
    seeds["unknown_kind"] = unknown.blob()

    loop = Btf()
    loop.raw("a", "typedef", 0, 0, 2)
    loop.raw(0, "const", 0, 0, 1)
    loop.raw(0, "array", 0, 0, 0, [3, 3, 2])
    seeds["modifier_loop.btf"] = loop.blob()

    arrays = Btf()
    ai = arrays.raw("int", "int", 0, 0, 4, [32])
    a1 = arrays.raw(0, "array", 0, 0, 0, [ai, ai, 0xFFFFFFFF])
    a2 = arrays.raw(0, "array", 0, 0, 0, [a1, ai, 0xFFFFFFFF])
    arrays.raw(0, "array", 0, 0, 0, [a2, ai, 0xFFFFFFFF])
    seeds["array_overflow.btf"] = arrays.blob()
    return seeds


def ext_blob(sub_sections, hdr_len=32):
    """sub_sections: [(record_size, [(name_off, [record words...]), ...]) or None] * 3."""
    encoded = []
    for sub in sub_sections:
        if not sub:
            encoded.append(b"")
            continue
        record_size, groups = sub
        out = struct.pack("<I", record_size)
        for name_off, records in groups:
            out += struct.pack("<II", name_off, len(records))
            for r in records:
                out += struct.pack("<%dI" % len(r), *r)
        encoded.append(out)
    func, line, core = encoded
    fields = [0, len(func), len(func), len(line)]
    if hdr_len >= 32:
        fields += [len(func) + len(line), len(core)]
    header = struct.pack("<HBBI", 0xEB9F, 1, 0, hdr_len) + struct.pack("<%dI" % len(fields), *fields)
    header += b"\0" * (hdr_len - len(header))
    return header + func + line + (core if hdr_len >= 32 else b"")


def with_btf(btf_blob, ext):
    return struct.pack("<I", len(btf_blob)) + btf_blob + ext


def btf_ext_seeds(clang_btf, clang_ext):
    seeds = {"clang_btf_types": with_btf(clang_btf, clang_ext)}
    b = Btf()
    i = b.raw("int", "int", 0, 0, 4, [1 << 24 | 32])
    proto = b.raw(0, "func_proto", 1, 0, i, [b.s("ctx"), i])
    prog = b.raw("prog", "func", 1, 0, proto)
    sub = b.raw("sub", "func", 0, 0, proto)
    xdp, text, path, line, access = (b.s("xdp"), b.s(".text"), b.s("/src/p.bpf.c"),
                                     b.s("return 0;"), b.s("0:1"))
    blob = b.blob()
    func = (8, [(xdp, [[0, prog]]), (text, [[0, sub], [64, sub]])])
    lines = (16, [(xdp, [[0, path, line, 3 << 10 | 1], [16, path, line, 4 << 10 | 2]])])
    core = (16, [(xdp, [[24, i, access, 0], [32, i, access, 2]])])
    seeds["small"] = with_btf(blob, ext_blob([func, lines, core]))
    seeds["no_core_header"] = with_btf(blob, ext_blob([func, lines, None], hdr_len=24))
    seeds["bigger_records"] = with_btf(blob, ext_blob([
        (12, [(xdp, [[0, prog, 7]])]),
        (20, [(xdp, [[0, path, line, 3 << 10, 7]])]),
        (24, [(xdp, [[8, i, access, 1, 7, 7]])])]))
    seeds["record_size_too_small"] = with_btf(blob, ext_blob([(4, [(xdp, [[0]])]), None, None]))
    seeds["unaligned_insn"] = with_btf(blob, ext_blob([(8, [(xdp, [[3, prog]])]), None, None]))
    seeds["func_info_not_a_func"] = with_btf(blob, ext_blob([(8, [(xdp, [[0, i]])]), None, None]))
    seeds["bad_string"] = with_btf(blob, ext_blob([None, (16, [(xdp, [[0, 9999, line, 0]])]), None]))
    seeds["unknown_core_kind"] = with_btf(blob, ext_blob([None, None, (16, [(xdp, [[0, i, access, 99]])])]))
    count_overflow = bytearray(ext_blob([func, None, None]))
    struct.pack_into("<I", count_overflow, 32 + 8, 0x40000000)  # first group's num_info
    seeds["count_overflow"] = with_btf(blob, bytes(count_overflow))
    seeds["truncated_header"] = with_btf(blob, ext_blob([func, lines, core])[:20])
    seeds["btf_invalid"] = with_btf(b"\0" * 24, ext_blob([func, None, None]))
    return seeds


def write(directory, seeds):
    os.makedirs(directory, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    obj = sys.argv[1]
    objcopy = sys.argv[2] if len(sys.argv) > 2 else "llvm-objcopy-19"
    with tempfile.TemporaryDirectory() as tmp:
        btf_path, ext_path = os.path.join(tmp, "btf"), os.path.join(tmp, "ext")
        subprocess.run([objcopy, "--dump-section", ".BTF=" + btf_path,
                        "--dump-section", ".BTF.ext=" + ext_path, obj, os.path.join(tmp, "o")],
                       check=True)
        clang_btf = open(btf_path, "rb").read()
        clang_ext = open(ext_path, "rb").read()
    write(os.path.join(HERE, "corpus", "btf"), btf_seeds(clang_btf))
    write(os.path.join(HERE, "corpus", "btf_ext"), btf_ext_seeds(clang_btf, clang_ext))


if __name__ == "__main__":
    main()
