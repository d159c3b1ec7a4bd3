// A shared library that is not a visbone plugin: it exports a function, but not the entry point.
extern "C" __attribute__((visibility("default"))) int some_other_library_function() {
  return 42;
}
