// The image bytes of a POST to the image endpoint: the body itself (image/jpeg, image/png,
// application/octet-stream, ...) or the first file part of a multipart/form-data body (an HTML form, curl
// -F).
#pragma once

#include <string_view>

namespace visbone::serve {

// HttpError 400 naming the problem for an empty body, a multipart body without a boundary, without a part
// or cut off before its closing boundary.
std::string_view upload_bytes(std::string_view content_type, std::string_view body);

}  // namespace visbone::serve
