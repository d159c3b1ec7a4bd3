#include "visbone/serve/upload.h"

#include <string>

#include "visbone/serve/http_error.h"

namespace visbone::serve {

namespace {

[[noreturn]] void bad(const std::string& message) {
  throw HttpError(400, message);
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return r;
}

}  // namespace

std::string_view upload_bytes(std::string_view content_type, std::string_view body) {
  if (body.empty())
    bad("the request body is empty: send the image bytes (JPEG, PNG, ...) or a multipart form");
  const std::string type = lower(content_type);
  if (type.rfind("multipart/form-data", 0) != 0) return body;
  const auto b = type.find("boundary=");
  if (b == std::string::npos) bad("Content-Type multipart/form-data without a boundary");
  std::string boundary(content_type.substr(b + 9));
  if (const auto end = boundary.find(';'); end != std::string::npos) boundary.resize(end);
  if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"')
    boundary = boundary.substr(1, boundary.size() - 2);
  if (boundary.empty()) bad("Content-Type multipart/form-data with an empty boundary");
  const std::string delimiter = "--" + boundary;
  // The first part: after the first delimiter line, its headers end at a blank line.
  const auto first = body.find(delimiter);
  if (first == std::string_view::npos) bad("multipart body: boundary '" + boundary + "' not found");
  const auto headers_end = body.find("\r\n\r\n", first);
  if (headers_end == std::string_view::npos) bad("multipart body: the first part has no end of headers");
  const auto start = headers_end + 4;
  const auto end = body.find("\r\n" + delimiter, start);
  if (end == std::string_view::npos)
    bad("multipart body: cut off before the closing boundary (truncated upload?)");
  if (end == start) bad("multipart body: the first part is empty");
  return body.substr(start, end - start);
}

}  // namespace visbone::serve
