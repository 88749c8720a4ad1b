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
/// Inside a catch block: rethrows the current mq::Error as the same kind, its message mapped
/// by `f`. The one place that knows the error kinds.
template <class F>
[[noreturn]] void rethrow_mapped(F&& f) {
  try {
    throw;
  } catch (const FormatError& e) {
    throw FormatError(f(e.message()));
  } catch (const UnsupportedError& e) {
    throw UnsupportedError(f(e.message()));
  } catch (const ShapeError& e) {
    throw ShapeError(f(e.message()));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(f(e.message()));
  } catch (const IoError& e) {
    throw IoError(f(e.message()));
  } catch (const Error& e) {
    throw Error(f(e.message()));
  }
}
}  // namespace detail

template <class Fn>
auto with_context(const std::string& ctx, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    detail::rethrow_mapped([&](const std::string& m) {  // unless the context is there already
      return m.rfind(ctx + ": ", 0) == 0 ? m : ctx + ": " + m;
    });
  }
}

}  // namespace mq
