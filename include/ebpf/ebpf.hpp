// ebpfpp: the whole core API in one include.
#pragma once

#include <ebpf/btf.hpp>
#include <ebpf/btf_dump.hpp>
#include <ebpf/core.hpp>
#include <ebpf/error.hpp>
#include <ebpf/features.hpp>
#include <ebpf/kconfig.hpp>
#include <ebpf/link.hpp>
#include <ebpf/map.hpp>
#include <ebpf/object.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/perf_buffer.hpp>
#include <ebpf/program.hpp>
#include <ebpf/relocation.hpp>
#include <ebpf/ring_buffer.hpp>
#include <ebpf/section.hpp>
#include <ebpf/inspect.hpp>
#include <ebpf/types.hpp>
#include <ebpf/unique_fd.hpp>
#include <ebpf/user_ring_buffer.hpp>
