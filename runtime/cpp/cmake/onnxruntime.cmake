# Defines the imported target onnxruntime::onnxruntime.
#
# ONNXRUNTIME_ROOT (a CMake variable, else the environment variable) names a folder laid out like
# the official ONNX Runtime release archives: include/onnxruntime_cxx_api.h and
# lib/libonnxruntime.so (onnxruntime.lib + onnxruntime.dll on Windows). Without it, the default
# search paths are used (e.g. Debian's libonnxruntime-dev: /usr/include/onnxruntime).
if(TARGET onnxruntime::onnxruntime)
  return()
endif()

if(NOT ONNXRUNTIME_ROOT AND DEFINED ENV{ONNXRUNTIME_ROOT})
  set(ONNXRUNTIME_ROOT "$ENV{ONNXRUNTIME_ROOT}")
endif()

# A different root than last time: search again rather than keep the cached paths.
if(NOT "${ONNXRUNTIME_ROOT}" STREQUAL "${_YOLACT_ORT_ROOT_SEARCHED}")
  unset(ONNXRUNTIME_INCLUDE_DIR CACHE)
  unset(ONNXRUNTIME_LIBRARY CACHE)
  set(_YOLACT_ORT_ROOT_SEARCHED "${ONNXRUNTIME_ROOT}" CACHE INTERNAL "")
endif()

if(ONNXRUNTIME_ROOT)
  set(_ort_hints HINTS "${ONNXRUNTIME_ROOT}" NO_DEFAULT_PATH)
else()
  set(_ort_hints "")
endif()
find_path(ONNXRUNTIME_INCLUDE_DIR onnxruntime_cxx_api.h ${_ort_hints}
          PATH_SUFFIXES include include/onnxruntime include/onnxruntime/core/session)
find_library(ONNXRUNTIME_LIBRARY NAMES onnxruntime ${_ort_hints} PATH_SUFFIXES lib lib64)
unset(_ort_hints)

if(NOT ONNXRUNTIME_INCLUDE_DIR OR NOT ONNXRUNTIME_LIBRARY)
  message(FATAL_ERROR
    "ONNX Runtime not found (ONNXRUNTIME_ROOT='${ONNXRUNTIME_ROOT}'): set ONNXRUNTIME_ROOT to a folder "
    "with include/onnxruntime_cxx_api.h and lib/libonnxruntime.so, e.g. an official ONNX Runtime "
    "release archive unpacked, or run `make cpp` in the yolact-export repository.")
endif()

add_library(onnxruntime::onnxruntime SHARED IMPORTED)
set_target_properties(onnxruntime::onnxruntime PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${ONNXRUNTIME_INCLUDE_DIR}")
if(WIN32)
  get_filename_component(_ort_dir "${ONNXRUNTIME_LIBRARY}" DIRECTORY)
  set_target_properties(onnxruntime::onnxruntime PROPERTIES
    IMPORTED_IMPLIB "${ONNXRUNTIME_LIBRARY}" IMPORTED_LOCATION "${_ort_dir}/onnxruntime.dll")
  unset(_ort_dir)
else()
  set_target_properties(onnxruntime::onnxruntime PROPERTIES IMPORTED_LOCATION "${ONNXRUNTIME_LIBRARY}")
endif()
message(STATUS "ONNX Runtime: ${ONNXRUNTIME_LIBRARY} (headers ${ONNXRUNTIME_INCLUDE_DIR})")
