// One exception hierarchy for everything visbone throws. Every message says what went wrong, where (file,
// key, tensor, line) and what was expected, so callers can show it as it is.
#pragma once

#include <stdexcept>
#include <string>

namespace visbone {

// Base of every visbone exception; catch this to handle any visbone failure.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file or stream could not be opened, read or written (missing file, permission, short read).
class IoError : public Error {
 public:
  using Error::Error;
};

// Bytes from outside do not follow their format (safetensors, JSON, images, .npz, HTTP bodies).
class FormatError : public Error {
 public:
  using Error::Error;
};

// A configuration value is invalid (config.json, preprocessor_config.json, YAML, command-line options).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Shapes do not fit together (a weight of the wrong shape, an input the model cannot take).
class ShapeError : public Error {
 public:
  using Error::Error;
};

// Something asked for by name does not exist (a tensor, a stage, a registered component, a hub file).
class NotFoundError : public Error {
 public:
  using Error::Error;
};

// A network transfer failed (connection, HTTP status, timeout, integrity check).
class NetworkError : public Error {
 public:
  using Error::Error;
};

}  // namespace visbone
