#pragma once
#include <sstream>

namespace mq {

template <class E, class... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  throw E(os.str());
}

namespace detail {
template <class E>
[[noreturn]] void rethrow_with(const E& e, const std::string& ctx) {
  if (e.message().rfind(ctx + ": ", 0) == 0) throw e;  // the context is there already
  throw E(ctx + ": " + e.message());
}
}  // namespace detail

template <class Fn>
auto with_context(const std::string& ctx, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const FormatError& e) {
    detail::rethrow_with(e, ctx);
  } catch (const UnsupportedError& e) {
    detail::rethrow_with(e, ctx);
  } catch (const ShapeError& e) {
    detail::rethrow_with(e, ctx);
  } catch (const InvalidArgument& e) {
    detail::rethrow_with(e, ctx);
  } catch (const IoError& e) {
    detail::rethrow_with(e, ctx);
  } catch (const Error& e) {
    detail::rethrow_with(e, ctx);
  }
}

}  // namespace mq
