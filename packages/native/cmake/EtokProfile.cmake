# Decides whether `etok profile`'s injection library is built: it needs CUDA's and CUPTI's headers (never their
# libraries: the driver and CUPTI are loaded at run time with dlopen). Sets ETOK_HAS_PROFILE, ETOK_PROFILE_REASON
# (why not, when not), ETOK_CUPTI_LIBRARY_PATH (the toolkit's libcupti, tried first at run time) and
# ETOK_CUPTI_MAJOR. Include after EtokCuda.cmake.
set(ETOK_HAS_PROFILE OFF)
set(ETOK_PROFILE_REASON "")
set(ETOK_CUPTI_LIBRARY_PATH "")
set(ETOK_CUPTI_MAJOR "")
set(ETOK_PROFILE_INJECTION_FILE "libetok_profile_inject.so")

if(NOT ETOK_HAS_CUDA)
  set(ETOK_PROFILE_REASON "built without CUDA (${ETOK_CUDA_REASON})")
elseif(NOT CUDAToolkit_CUPTI_INCLUDE_DIR OR NOT EXISTS "${CUDAToolkit_CUPTI_INCLUDE_DIR}/cupti.h")
  set(ETOK_PROFILE_REASON "the CUDA toolkit has no CUPTI headers (cupti.h)")
  if(ETOK_ENABLE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ETOK_ENABLE_CUDA=ON but CUPTI's headers (cupti.h) were not found beside the toolkit")
  endif()
else()
  set(ETOK_HAS_PROFILE ON)
  if(CUDA_cupti_LIBRARY)
    get_filename_component(ETOK_CUPTI_LIBRARY_PATH "${CUDA_cupti_LIBRARY}" REALPATH)
  endif()
  set(ETOK_CUPTI_MAJOR "${CUDAToolkit_VERSION_MAJOR}")
endif()

if(ETOK_HAS_PROFILE)
  message(STATUS "etok: profile injection library with CUPTI ${CUDAToolkit_VERSION} headers (run time: ${ETOK_CUPTI_LIBRARY_PATH})")
else()
  message(STATUS "etok: no profile injection library (${ETOK_PROFILE_REASON})")
endif()
