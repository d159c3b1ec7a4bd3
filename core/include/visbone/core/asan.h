// VISBONE_ASAN is defined (1) in code built with AddressSanitizer, by GCC (which defines
// __SANITIZE_ADDRESS__) or by clang (which tells through __has_feature): for the few places that must behave
// differently under it.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define VISBONE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VISBONE_ASAN 1
#endif
#endif
