/**
 * Names of CUDA's shared libraries (the toolkit's, cuDNN, NCCL, TensorRT, framework CUDA builds):
 * the probe stage picks the files whose fatbins it reads by it (inspect/probe.ts), attribution calls
 * such a file `cuda-runtime` (attribute/kinds.ts).
 */
export const CUDA_SHARED =
  /^lib(cuda|cudart|cublas|cublasLt|cufft|cufftw|curand|cusolver|cusolverMg|cusparse|cusparseLt|cudnn[^/]*|nccl|nvrtc[^/]*|nvJitLink|nvjpeg|npp[^/]*|nvToolsExt|nvblas|cupti|nvperf[^/]*|cufile[^/]*|nvidia-[^/]*|nvinfer[^/]*|nvonnxparser|nvparsers|nvptxcompiler[^/]*|torch_cuda[^/]*|c10_cuda|caffe2_nvrtc|cuinj64|accinj64|cutensor[^/]*|cudss|custatevec|cutensornet|nvshmem[^/]*|nvvm|nvrtc-builtins|nvoptix|nvcuvid|nvidia-encode|cusparseLt)(?=[._-])[^/]*\.so(\.[\d.]+)?$/;
