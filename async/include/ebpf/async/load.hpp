// ebpfpp async: load an object without blocking the caller's executor.
//
//   auto object = ebpf::object::open("big.bpf.o");
//   co_await ebpf::async::load(object, {}, asio::use_awaitable);   // the verifier runs elsewhere
//
// object::load() creates maps and runs the verifier on every program: for large programs that is
// tens or hundreds of milliseconds in the kernel, during which an event loop would stand still.
// async::load runs it on a thread pool and completes on the executor associated with the
// completion handler (the coroutine's executor for use_awaitable). async/ loads nothing itself:
// it only moves ebpf::object::load to another thread.
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/thread_pool.hpp>

#include <ebpf/object.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace ebpf::async {

/// The pool async::load uses when none is given: two threads, created on first use and joined
/// at exit (a documented process-wide resource, like the kernel BTF cache). Thread-safe.
inline asio::thread_pool& default_load_pool() {
  static asio::thread_pool pool(2);
  return pool;
}

namespace detail {

struct initiate_load {
  template <class Handler>
  void operator()(Handler&& handler, object* target, load_options options,
                  asio::thread_pool::executor_type pool) const {
    // Keeps the caller's executor (an io_context) from running out of work while the load runs
    // elsewhere, and is where the handler runs afterwards.
    auto home = asio::prefer(asio::get_associated_executor(handler),
                             asio::execution::outstanding_work.tracked);
    asio::post(pool, [handler = std::forward<Handler>(handler), home = std::move(home), target,
                      options = std::move(options)]() mutable {
      std::exception_ptr failure;
      try {
        target->load(options);
      } catch (...) {
        failure = std::current_exception();
      }
      asio::post(home, [handler = std::move(handler), failure]() mutable { std::move(handler)(failure); });
    });
  }
};

}  // namespace detail

/// Runs object.load(options) on `pool` and completes on the handler's associated executor (the
/// coroutine's for asio::use_awaitable; bind one to a callback with asio::bind_executor,
/// otherwise the callback runs on a pool thread). The object must outlive the operation and must
/// not be used by anyone else until it completes.
/// Completion signature: void(std::exception_ptr): null on success, else the ebpf::error /
/// ebpf::verifier_error object::load threw (use_awaitable rethrows it in the coroutine).
/// Cancellation: not supported (the kernel's verifier cannot be interrupted); the operation
/// always completes. Thread-safety: any thread may start loads of distinct objects.
/// Kernel: as object::load.
// GCC 12: do not write `co_await load(object, {}, pool, token)`: a braced temporary with
// std::string members inside a co_await expression is miscompiled (its destructor frees a
// pointer into the coroutine frame; reproduced without ebpfpp, clang is fine). Name the options,
// or use the overloads without them.
template <class Token>
auto load(object& target, const load_options& options, asio::thread_pool& pool, Token&& token) {
  return asio::async_initiate<Token, void(std::exception_ptr)>(
      detail::initiate_load{}, token, &target, load_options(options), pool.get_executor());
}

/// The same on default_load_pool(). Completion signature: void(std::exception_ptr).
template <class Token>
auto load(object& target, const load_options& options, Token&& token) {
  return load(target, options, default_load_pool(), std::forward<Token>(token));
}

/// The same with default load_options. Completion signature: void(std::exception_ptr).
template <class Token>
  requires(!std::is_convertible_v<Token&&, const load_options&>)
auto load(object& target, Token&& token) {
  return load(target, load_options{}, default_load_pool(), std::forward<Token>(token));
}

}  // namespace ebpf::async
