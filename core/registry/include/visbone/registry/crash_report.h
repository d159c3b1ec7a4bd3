// A crash names the code it happened in. Plugins run inside the host process, so a segfault in a plugin
// head would otherwise end `visbone run` with exit 139 and no word; with this, stderr says which library
// (found with dladdr from the faulting instruction's address) before the process dies of the same signal.
#pragma once

namespace visbone::registry {

// Installs handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that write one line to stderr:
// "visbone: fatal signal SIGSEGV in /path/libplugin.so (symbol); this run's outputs are incomplete"
// and then let the signal end the process as it would have (exit status, core dump). Idempotent.
void install_crash_report();

}  // namespace visbone::registry
