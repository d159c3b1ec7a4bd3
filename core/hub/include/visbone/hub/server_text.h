// Text a server sends (X-Error-Message, error bodies, header values quoted in messages) goes into our error
// messages, which land on a terminal: escape sequences in it could rewrite the screen or the title, or hide
// the real message. It is printed with every control character escaped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace visbone::hub {

// `text` with control characters written as escapes: ASCII controls and DEL as \xNN (tab, CR and LF as \t,
// \r, \n), the C1 controls U+0080..U+009F as \u0080..\u009f, bytes that are not UTF-8 as \xNN, and a
// backslash as \\ (so an escape in the output always means one). Longer text is cut at `max_bytes` of the
// input, with "..." appended.
std::string escape_server_text(std::string_view text, std::size_t max_bytes = 1024);

}  // namespace visbone::hub
