#include "profile/memory_calls.h"

#include <cupti.h>

namespace etok::profile {

namespace {

const CUpti_CallbackId kDriver[] = {
    CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2,
    CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch_v2,
    CUPTI_DRIVER_TRACE_CBID_cuMemAllocManaged,
    CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync,
    CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync,
    CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2,
    CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync,
    CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuMemSetAccess,
    CUPTI_DRIVER_TRACE_CBID_cuMemUnmap,
};

const CUpti_CallbackId kRuntime[] = {
    CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaMallocPitch_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaMallocManaged_v6000,
    CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_v11020,
    CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_ptsz_v11020,
    CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_v11020,
    CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_ptsz_v11020,
    CUPTI_RUNTIME_TRACE_CBID_cudaFree_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_v11020,
    CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_ptsz_v11020,
};

uint64_t address(const void* p) { return reinterpret_cast<uint64_t>(p); }

}  // namespace

const CUpti_CallbackId* driverMemoryCallbacks(size_t& count) {
  count = sizeof kDriver / sizeof kDriver[0];
  return kDriver;
}

const CUpti_CallbackId* runtimeMemoryCallbacks(size_t& count) {
  count = sizeof kRuntime / sizeof kRuntime[0];
  return kRuntime;
}

void trackDriverMemory(CUpti_CallbackId cbid, const void* params, AllocationTable& table) {
  switch (cbid) {
    case CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2: {
      const auto* p = static_cast<const cuMemAlloc_v2_params*>(params);
      table.allocated(*p->dptr, p->bytesize);
      break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch_v2: {
      const auto* p = static_cast<const cuMemAllocPitch_v2_params*>(params);
      table.allocated(*p->dptr, *p->pPitch * p->Height);
      break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocManaged: {
      const auto* p = static_cast<const cuMemAllocManaged_params*>(params);
      table.allocated(*p->dptr, p->bytesize);
      break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync:
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync_ptsz: {
      const auto* p = static_cast<const cuMemAllocAsync_params*>(params);
      table.allocated(*p->dptr, p->bytesize);
      break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync:
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync_ptsz: {
      const auto* p = static_cast<const cuMemAllocFromPoolAsync_params*>(params);
      table.allocated(*p->dptr, p->bytesize);
      break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2:
      table.freed(static_cast<const cuMemFree_v2_params*>(params)->dptr);
      break;
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync:
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz:
      table.freed(static_cast<const cuMemFreeAsync_params*>(params)->dptr);
      break;
    case CUPTI_DRIVER_TRACE_CBID_cuMemSetAccess: {
      // A mapping of the virtual memory API becomes readable when access is granted, not when it is mapped.
      const auto* p = static_cast<const cuMemSetAccess_params*>(params);
      table.mapped(p->ptr, p->size);
      break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemUnmap: {
      const auto* p = static_cast<const cuMemUnmap_params*>(params);
      table.unmapped(p->ptr, p->size);
      break;
    }
    default: break;
  }
}

void trackRuntimeMemory(CUpti_CallbackId cbid, const void* params, AllocationTable& table) {
  switch (cbid) {
    case CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020: {
      const auto* p = static_cast<const cudaMalloc_v3020_params*>(params);
      table.allocated(address(*p->devPtr), p->size);
      break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocPitch_v3020: {
      const auto* p = static_cast<const cudaMallocPitch_v3020_params*>(params);
      table.allocated(address(*p->devPtr), *p->pitch * p->height);
      break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocManaged_v6000: {
      const auto* p = static_cast<const cudaMallocManaged_v6000_params*>(params);
      table.allocated(address(*p->devPtr), p->size);
      break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_ptsz_v11020: {
      const auto* p = static_cast<const cudaMallocAsync_v11020_params*>(params);
      table.allocated(address(*p->devPtr), p->size);
      break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_ptsz_v11020: {
      const auto* p = static_cast<const cudaMallocFromPoolAsync_v11020_params*>(params);
      table.allocated(address(*p->ptr), p->size);
      break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaFree_v3020:
      table.freed(address(static_cast<const cudaFree_v3020_params*>(params)->devPtr));
      break;
    case CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_ptsz_v11020:
      table.freed(address(static_cast<const cudaFreeAsync_v11020_params*>(params)->devPtr));
      break;
    default: break;
  }
}

}  // namespace etok::profile
