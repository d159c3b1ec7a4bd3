#include "visbone/registry/crash_report.h"

#include <dlfcn.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>

namespace visbone::registry {

namespace {

// Only async-signal-safe calls from here on (write, dladdr as glibc implements it, sigaction, raise).
void say(const char* text) {
  if (!text) return;
  std::size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<std::size_t>(n);
  }
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
  }
}

// The address of the instruction that faulted (for SIGABRT: somewhere in abort's caller chain, so the
// report names libc there; the message still says the run is incomplete).
const void* faulting_instruction(void* context) {
  const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
  return uc ? reinterpret_cast<const void*>(uc->uc_mcontext.gregs[REG_RIP]) : nullptr;
#elif defined(__aarch64__)
  return uc ? reinterpret_cast<const void*>(uc->uc_mcontext.pc) : nullptr;
#else
  (void)uc;
  return nullptr;
#endif
}

void on_fatal_signal(int sig, siginfo_t*, void* context) {
  say("visbone: fatal signal ");
  say(signal_name(sig));
  Dl_info where{};
  const void* pc = faulting_instruction(context);
  if (pc && ::dladdr(pc, &where) && where.dli_fname) {
    say(" in ");
    say(where.dli_fname);
    if (where.dli_sname) {
      say(" (");
      say(where.dli_sname);
      say(")");
    }
  }
  say("; this run's outputs are incomplete\n");
  // SA_RESETHAND put the default action back: re-raise so the process ends as the signal says.
  ::raise(sig);
}

}  // namespace

void install_crash_report() {
  // Its own stack, so a stack overflow can still be reported.
  static char alternate_stack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alternate_stack;
  ss.ss_size = sizeof alternate_stack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = on_fatal_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (const int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace visbone::registry
