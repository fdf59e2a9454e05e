// dlsym resolution of the tables declared in ccuda.h. Where a header maps a function to a
// versioned symbol (cuMemAlloc -> cuMemAlloc_v2), the versioned name is tried first and the
// plain one after, so older drivers still resolve.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include "ccuda.h"

static void *find(void *library, const char *first, const char *second) {
    void *p = dlsym(library, first);
    if (!p && second) p = dlsym(library, second);
    return p;
}

#define RESOLVE2(table, field, first, second)                                \
    do {                                                                      \
        void *p_ = find(library, first, second);                              \
        if (!p_) return first;                                                \
        *(void **)&(table)->field = p_;                                       \
    } while (0)
#define RESOLVE(table, field) RESOLVE2(table, field, #field, NULL)
#define RESOLVE_V2(table, field) RESOLVE2(table, field, #field "_v2", #field)

const char *ccuda_resolve_driver(void *library, CCUDADriver *t) {
    RESOLVE(t, cuInit);
    RESOLVE(t, cuDriverGetVersion);
    RESOLVE(t, cuGetErrorString);
    RESOLVE(t, cuGetErrorName);
    RESOLVE(t, cuDeviceGetCount);
    RESOLVE(t, cuDeviceGet);
    RESOLVE(t, cuDeviceGetName);
    RESOLVE(t, cuDeviceGetAttribute);
    RESOLVE_V2(t, cuDeviceTotalMem);
    RESOLVE(t, cuDevicePrimaryCtxRetain);
    RESOLVE_V2(t, cuDevicePrimaryCtxRelease);
    RESOLVE_V2(t, cuDevicePrimaryCtxSetFlags);
    RESOLVE(t, cuCtxSetCurrent);
    RESOLVE(t, cuCtxSynchronize);
    RESOLVE_V2(t, cuMemGetInfo);
    RESOLVE_V2(t, cuMemAlloc);
    RESOLVE_V2(t, cuMemFree);
    RESOLVE(t, cuMemHostAlloc);
    RESOLVE(t, cuMemFreeHost);
    RESOLVE_V2(t, cuMemHostRegister);
    RESOLVE(t, cuMemHostUnregister);
    RESOLVE_V2(t, cuMemcpyHtoDAsync);
    RESOLVE_V2(t, cuMemcpyDtoHAsync);
    RESOLVE_V2(t, cuMemcpyDtoDAsync);
    RESOLVE(t, cuMemsetD8Async);
    RESOLVE(t, cuStreamCreate);
    RESOLVE_V2(t, cuStreamDestroy);
    RESOLVE(t, cuStreamSynchronize);
    RESOLVE(t, cuStreamWaitEvent);
    RESOLVE(t, cuEventCreate);
    RESOLVE_V2(t, cuEventDestroy);
    RESOLVE(t, cuEventRecord);
    RESOLVE(t, cuEventSynchronize);
    RESOLVE(t, cuEventQuery);
    RESOLVE_V2(t, cuEventElapsedTime);
    RESOLVE(t, cuModuleLoadData);
    RESOLVE(t, cuModuleUnload);
    RESOLVE(t, cuModuleGetFunction);
    RESOLVE(t, cuFuncSetAttribute);
    RESOLVE(t, cuOccupancyMaxActiveBlocksPerMultiprocessor);
    RESOLVE(t, cuLaunchKernel);
    return NULL;
}

const char *ccuda_resolve_nvrtc(void *library, CCUDANVRTC *t) {
    RESOLVE(t, nvrtcVersion);
    RESOLVE(t, nvrtcGetErrorString);
    RESOLVE(t, nvrtcCreateProgram);
    RESOLVE(t, nvrtcDestroyProgram);
    RESOLVE(t, nvrtcCompileProgram);
    RESOLVE(t, nvrtcGetProgramLogSize);
    RESOLVE(t, nvrtcGetProgramLog);
    RESOLVE(t, nvrtcGetCUBINSize);
    RESOLVE(t, nvrtcGetCUBIN);
    return NULL;
}

const char *ccuda_resolve_blaslt(void *library, CCUDABLASLt *t) {
    RESOLVE(t, cublasLtGetVersion);
    RESOLVE(t, cublasLtCreate);
    RESOLVE(t, cublasLtDestroy);
    RESOLVE(t, cublasLtMatmulDescCreate);
    RESOLVE(t, cublasLtMatmulDescDestroy);
    RESOLVE(t, cublasLtMatmulDescSetAttribute);
    RESOLVE(t, cublasLtMatrixLayoutCreate);
    RESOLVE(t, cublasLtMatrixLayoutDestroy);
    RESOLVE(t, cublasLtMatmulPreferenceCreate);
    RESOLVE(t, cublasLtMatmulPreferenceDestroy);
    RESOLVE(t, cublasLtMatmulPreferenceSetAttribute);
    RESOLVE(t, cublasLtMatmulAlgoGetHeuristic);
    RESOLVE(t, cublasLtMatmul);
    return NULL;
}

void *ccuda_open_library(const char *path, const char **error) {
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h && error) *error = dlerror();
    return h;
}

const char *ccuda_library_path(void *library) {
    struct link_map *map = NULL;
    if (library && dlinfo(library, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name) return map->l_name;
    return NULL;
}
