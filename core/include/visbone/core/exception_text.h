// What any exception says, for error records: call current_exception_text() inside a `catch (...)` block.
// A component (a plugin head, an OpenCV call, the C++ library) may throw anything; the pipeline turns each
// into a record naming the component and the input instead of letting it end the run.
#pragma once

#include <string>

namespace visbone {

// visbone::Error: its message; std::bad_alloc: "out of memory"; another std::exception: its type and
// message ("std::runtime_error: ..."); anything else: "an exception of type T that is not a std::exception".
// Must be called while an exception is being handled.
std::string current_exception_text();

}  // namespace visbone
