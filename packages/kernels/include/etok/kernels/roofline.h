// Probes of this machine's CPU roofline, measured in the same run as a benchmark so the achieved fractions refer
// to the same conditions: sustained multi-threaded read bandwidth and the peak f32 FMA rate.
#pragma once

namespace etok::kernels {

struct CpuRoofline {
  double readBytesPerS = 0;  // best pass of all threads streaming disjoint buffers far larger than the caches
  double fmaFlopsPerS = 0;   // best pass of independent FMA chains (2 FLOPs an FMA lane), widest ISA available
  const char* isa = "portable";
};

/** threads <= 0 uses every hardware thread; bufferBytes is the total streamed (default 512 MiB). */
CpuRoofline measureCpuRoofline(int threads, double seconds, double bufferBytes = 512.0 * 1024 * 1024);

}  // namespace etok::kernels
