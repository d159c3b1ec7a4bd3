// A request the server refuses, with the HTTP status to answer and a message naming what was wrong (sent
// as {"error": MESSAGE}, the Open Inference Protocol's error shape).
#pragma once

#include "visbone/core/errors.h"

namespace visbone::serve {

class HttpError : public Error {
 public:
  HttpError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace visbone::serve
