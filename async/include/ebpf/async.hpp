// ebpfpp async: the Asio layer in one include, with the core API and Asio itself.
//
//   #include <ebpf/async.hpp>
//   asio::awaitable<void> monitor(ebpf::object& object) {
//     ebpf::async::ring_buffer events(co_await asio::this_coro::executor, object.map("events"));
//     for (;;) {
//       auto batch = co_await events.async_read_some(asio::use_awaitable);
//       for (const exec_event& e : batch.as<exec_event>()) ...
//     }
//   }
//
// Header-only, over standalone Asio (1.22+, with ASIO_STANDALONE). The readers wait on the core
// consumers' readiness fds (ebpf::ring_buffer, ebpf::perf_buffer, ebpf::user_ring_buffer) and
// never read ring memory themselves.
// Build with the `ebpfpp_async_dep` meson dependency (or pkg-config ebpfpp plus Asio, with
// -DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1 on clang).
#pragma once

#include <asio.hpp>

#include <ebpf/ebpf.hpp>

#include <ebpf/async/load.hpp>
#include <ebpf/async/perf_buffer.hpp>
#include <ebpf/async/reader.hpp>
#include <ebpf/async/ring_buffer.hpp>
#include <ebpf/async/stream_reader.hpp>
#include <ebpf/async/user_ring_buffer.hpp>
