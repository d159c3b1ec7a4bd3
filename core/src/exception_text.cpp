#include "visbone/core/exception_text.h"

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <typeinfo>

#include "visbone/core/errors.h"

namespace visbone {

namespace {

std::string demangle(const std::type_info* type) {
  if (!type) return "unknown";
  int status = 0;
  const std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type->name(), nullptr, nullptr, &status),
                                                    std::free);
  return status == 0 && name ? name.get() : type->name();
}

}  // namespace

std::string current_exception_text() {
  try {
    throw;
  } catch (const Error& e) {
    return e.what();
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& e) {
    return demangle(&typeid(e)) + ": " + e.what();
  } catch (...) {
    return "an exception of type " + demangle(abi::__cxa_current_exception_type()) +
           " that is not a std::exception";
  }
}

}  // namespace visbone
