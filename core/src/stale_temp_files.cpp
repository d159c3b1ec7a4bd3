#include "visbone/core/stale_temp_files.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>

namespace visbone {

namespace fs = std::filesystem;

std::optional<long> temp_file_owner(const std::string& name) {
  // ".NAME.KIND.PID.N": split from the end, as NAME may hold dots.
  if (name.size() < 2 || name[0] != '.') return std::nullopt;
  const auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  const auto last = name.rfind('.');
  if (last == 0 || !digits(name.substr(last + 1))) return std::nullopt;
  const auto pid_dot = name.rfind('.', last - 1);
  if (pid_dot == 0 || pid_dot == std::string::npos) return std::nullopt;
  const std::string pid = name.substr(pid_dot + 1, last - pid_dot - 1);
  if (!digits(pid)) return std::nullopt;
  const auto kind_dot = name.rfind('.', pid_dot - 1);
  if (kind_dot == 0 || kind_dot == std::string::npos) return std::nullopt;
  const std::string kind = name.substr(kind_dot + 1, pid_dot - kind_dot - 1);
  if (kind != "tmp" && kind != "part" && kind != "staging" && kind != "old" && kind != "removed")
    return std::nullopt;
  return std::stol(pid);
}

int remove_dead_temp_files(const fs::path& folder) {
  int removed = 0;
  std::error_code ec;
  const fs::path dir = folder.empty() ? fs::path(".") : folder;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto pid = temp_file_owner(it->path().filename().string());
    if (!pid || *pid <= 0 || *pid == ::getpid()) continue;
    // Alive, or not ours to ask about (EPERM: another user's live process): kept.
    if (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    if (fs::remove_all(it->path(), rm) > 0 && !rm) ++removed;
  }
  return removed;
}

void remove_dead_temp_files_once(const fs::path& folder) {
  static std::mutex mutex;
  static std::set<fs::path> done;
  std::error_code ec;
  fs::path key = fs::weakly_canonical(folder.empty() ? fs::path(".") : folder, ec);
  if (ec) key = folder;
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!done.insert(key).second) return;
  }
  remove_dead_temp_files(folder);
}

}  // namespace visbone
