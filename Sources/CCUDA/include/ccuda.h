// Hand-written declarations of the parts of the CUDA driver API, NVRTC and cuBLASLt that the
// CUDA backend uses, and the tables of function pointers resolved from them with dlsym at run
// time. No NVIDIA header is included (the package builds where CUDA is absent): types and
// enum values follow the public headers cuda.h, nvrtc.h, library_types.h, cublas_api.h and
// cublasLt.h.
#ifndef CCUDA_H
#define CCUDA_H

#include <stddef.h>
#include <stdint.h>

// Only the table entries are marked _Nonnull (resolved or the table is rejected); the other
// pointers keep C's unspecified nullability.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnullability-completeness"

// ---------------------------------------------------------------- driver API (cuda.h)
typedef int CUresult;                       // CUDA_SUCCESS = 0
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;     // CUdeviceptr_v2
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;

enum {
    CCU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1,
    CCU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13,
    CCU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    CCU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36,
    CCU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37,
    CCU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38,
    CCU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT = 40,
    CCU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CCU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CCU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
    CCU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
    CCU_CTX_SCHED_BLOCKING_SYNC = 0x4,
    CCU_STREAM_NON_BLOCKING = 0x1,
    CCU_EVENT_DEFAULT = 0x0,
    CCU_EVENT_DISABLE_TIMING = 0x2,
    CCU_MEMHOSTALLOC_PORTABLE = 0x1,
    CCU_MEMHOSTREGISTER_PORTABLE = 0x1,
};

// cuLaunchKernel `extra` markers (cast to void * there): arguments as one packed byte buffer.
enum {
    CCU_LAUNCH_PARAM_END = 0x00,
    CCU_LAUNCH_PARAM_BUFFER_POINTER = 0x01,
    CCU_LAUNCH_PARAM_BUFFER_SIZE = 0x02,
};

typedef struct {
    CUresult (*_Nonnull cuInit)(unsigned int flags);
    CUresult (*_Nonnull cuDriverGetVersion)(int *version);
    CUresult (*_Nonnull cuGetErrorString)(CUresult err, const char **str);
    CUresult (*_Nonnull cuGetErrorName)(CUresult err, const char **str);
    CUresult (*_Nonnull cuDeviceGetCount)(int *count);
    CUresult (*_Nonnull cuDeviceGet)(CUdevice *dev, int ordinal);
    CUresult (*_Nonnull cuDeviceGetName)(char *name, int len, CUdevice dev);
    CUresult (*_Nonnull cuDeviceGetAttribute)(int *value, int attribute, CUdevice dev);
    CUresult (*_Nonnull cuDeviceTotalMem)(size_t *bytes, CUdevice dev);
    CUresult (*_Nonnull cuDevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice dev);
    CUresult (*_Nonnull cuDevicePrimaryCtxRelease)(CUdevice dev);
    CUresult (*_Nonnull cuDevicePrimaryCtxSetFlags)(CUdevice dev, unsigned int flags);
    CUresult (*_Nonnull cuCtxSetCurrent)(CUcontext ctx);
    CUresult (*_Nonnull cuCtxSynchronize)(void);
    CUresult (*_Nonnull cuMemGetInfo)(size_t *free_bytes, size_t *total_bytes);
    CUresult (*_Nonnull cuMemAlloc)(CUdeviceptr *ptr, size_t bytes);
    CUresult (*_Nonnull cuMemFree)(CUdeviceptr ptr);
    CUresult (*_Nonnull cuMemHostAlloc)(void **ptr, size_t bytes, unsigned int flags);
    CUresult (*_Nonnull cuMemFreeHost)(void *ptr);
    CUresult (*_Nonnull cuMemHostRegister)(void *ptr, size_t bytes, unsigned int flags);
    CUresult (*_Nonnull cuMemHostUnregister)(void *ptr);
    CUresult (*_Nonnull cuMemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream);
    CUresult (*_Nonnull cuMemcpyDtoHAsync)(void *dst, CUdeviceptr src, size_t bytes, CUstream stream);
    CUresult (*_Nonnull cuMemcpyDtoDAsync)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream);
    CUresult (*_Nonnull cuMemsetD8Async)(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream);
    CUresult (*_Nonnull cuStreamCreate)(CUstream *stream, unsigned int flags);
    CUresult (*_Nonnull cuStreamDestroy)(CUstream stream);
    CUresult (*_Nonnull cuStreamSynchronize)(CUstream stream);
    CUresult (*_Nonnull cuStreamWaitEvent)(CUstream stream, CUevent event, unsigned int flags);
    CUresult (*_Nonnull cuEventCreate)(CUevent *event, unsigned int flags);
    CUresult (*_Nonnull cuEventDestroy)(CUevent event);
    CUresult (*_Nonnull cuEventRecord)(CUevent event, CUstream stream);
    CUresult (*_Nonnull cuEventSynchronize)(CUevent event);
    CUresult (*_Nonnull cuEventQuery)(CUevent event);
    CUresult (*_Nonnull cuEventElapsedTime)(float *ms, CUevent start, CUevent end);
    CUresult (*_Nonnull cuModuleLoadData)(CUmodule *module, const void *image);
    CUresult (*_Nonnull cuModuleUnload)(CUmodule module);
    CUresult (*_Nonnull cuModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
    CUresult (*_Nonnull cuFuncSetAttribute)(CUfunction function, int attribute, int value);
    CUresult (*_Nonnull cuOccupancyMaxActiveBlocksPerMultiprocessor)(int *blocks, CUfunction function, int blockSize,
                                                                     size_t dynamicSharedBytes);
    CUresult (*_Nonnull cuLaunchKernel)(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                               unsigned int bx, unsigned int by, unsigned int bz,
                               unsigned int sharedMemBytes, CUstream stream,
                               void **kernelParams, void **extra);
} CCUDADriver;

// ---------------------------------------------------------------- NVRTC (nvrtc.h)
typedef int nvrtcResult;                    // NVRTC_SUCCESS = 0
typedef struct _nvrtcProgram *nvrtcProgram;

typedef struct {
    nvrtcResult (*_Nonnull nvrtcVersion)(int *major, int *minor);
    const char *(*_Nonnull nvrtcGetErrorString)(nvrtcResult result);
    nvrtcResult (*_Nonnull nvrtcCreateProgram)(nvrtcProgram *prog, const char *src, const char *name, int numHeaders,
                                      const char *const *headers, const char *const *includeNames);
    nvrtcResult (*_Nonnull nvrtcDestroyProgram)(nvrtcProgram *prog);
    nvrtcResult (*_Nonnull nvrtcCompileProgram)(nvrtcProgram prog, int numOptions, const char *const *options);
    nvrtcResult (*_Nonnull nvrtcGetProgramLogSize)(nvrtcProgram prog, size_t *size);
    nvrtcResult (*_Nonnull nvrtcGetProgramLog)(nvrtcProgram prog, char *log);
    nvrtcResult (*_Nonnull nvrtcGetCUBINSize)(nvrtcProgram prog, size_t *size);
    nvrtcResult (*_Nonnull nvrtcGetCUBIN)(nvrtcProgram prog, char *cubin);
} CCUDANVRTC;

// ---------------------------------------------------------------- cuBLASLt (cublasLt.h)
typedef int cublasStatus_t;                 // CUBLAS_STATUS_SUCCESS = 0
typedef struct cublasLtContext *cublasLtHandle_t;
typedef struct cublasLtMatmulDescOpaque_t *cublasLtMatmulDesc_t;
typedef struct cublasLtMatrixLayoutOpaque_t *cublasLtMatrixLayout_t;
typedef struct cublasLtMatmulPreferenceOpaque_t *cublasLtMatmulPreference_t;

typedef struct {
    uint64_t data[8];
} cublasLtMatmulAlgo_t;

typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;

enum {
    CCUBLAS_OP_N = 0,
    CCUBLAS_OP_T = 1,
    CCUDA_R_32F = 0,                        // cudaDataType_t
    CCUDA_R_16BF = 14,
    CCUBLAS_COMPUTE_32F = 68,               // cublasComputeType_t
    CCUBLASLT_MATMUL_DESC_TRANSA = 3,
    CCUBLASLT_MATMUL_DESC_TRANSB = 4,
    CCUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
    CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
    CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
};

typedef struct {
    size_t (*_Nonnull cublasLtGetVersion)(void);
    cublasStatus_t (*_Nonnull cublasLtCreate)(cublasLtHandle_t *handle);
    cublasStatus_t (*_Nonnull cublasLtDestroy)(cublasLtHandle_t handle);
    cublasStatus_t (*_Nonnull cublasLtMatmulDescCreate)(cublasLtMatmulDesc_t *desc, int computeType, int scaleType);
    cublasStatus_t (*_Nonnull cublasLtMatmulDescDestroy)(cublasLtMatmulDesc_t desc);
    cublasStatus_t (*_Nonnull cublasLtMatmulDescSetAttribute)(cublasLtMatmulDesc_t desc, int attribute,
                                                     const void *value, size_t size);
    cublasStatus_t (*_Nonnull cublasLtMatrixLayoutCreate)(cublasLtMatrixLayout_t *layout, int type,
                                                 uint64_t rows, uint64_t cols, int64_t ld);
    cublasStatus_t (*_Nonnull cublasLtMatrixLayoutDestroy)(cublasLtMatrixLayout_t layout);
    cublasStatus_t (*_Nonnull cublasLtMatmulPreferenceCreate)(cublasLtMatmulPreference_t *pref);
    cublasStatus_t (*_Nonnull cublasLtMatmulPreferenceDestroy)(cublasLtMatmulPreference_t pref);
    cublasStatus_t (*_Nonnull cublasLtMatmulPreferenceSetAttribute)(cublasLtMatmulPreference_t pref, int attribute,
                                                           const void *value, size_t size);
    cublasStatus_t (*_Nonnull cublasLtMatmulAlgoGetHeuristic)(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                                     cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                                     cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                                     cublasLtMatmulPreference_t pref, int requested,
                                                     cublasLtMatmulHeuristicResult_t *results, int *returned);
    cublasStatus_t (*_Nonnull cublasLtMatmul)(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void *alpha,
                                     const void *a, cublasLtMatrixLayout_t adesc,
                                     const void *b, cublasLtMatrixLayout_t bdesc, const void *beta,
                                     const void *c, cublasLtMatrixLayout_t cdesc,
                                     void *d, cublasLtMatrixLayout_t ddesc,
                                     const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspaceSize,
                                     CUstream stream);
} CCUDABLASLt;

// ---------------------------------------------------------------- resolution (ccuda.c)
// Each fills its table from a dlopen handle. Returns NULL on success, else the name of the
// first symbol that is missing (the table is then unusable).
const char *ccuda_resolve_driver(void *library, CCUDADriver *table);
const char *ccuda_resolve_nvrtc(void *library, CCUDANVRTC *table);
const char *ccuda_resolve_blaslt(void *library, CCUDABLASLt *table);

// dlopen(path, RTLD_NOW | RTLD_GLOBAL); the text of dlerror() on failure goes to *error.
void *ccuda_open_library(const char *path, const char **error);
// Path of the file a dlopen handle refers to (dlinfo RTLD_DI_LINKMAP), or NULL.
const char *ccuda_library_path(void *library);

#pragma clang diagnostic pop

#endif
