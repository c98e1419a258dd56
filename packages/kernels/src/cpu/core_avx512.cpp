// The attention core compiled for AVX-512 (F, BW, DQ, VL) + FMA + F16C (this file alone gets those flags; see
// CMakeLists). Opt-in (ETOK_CPU_ISA=avx512) until it has run on AVX-512 hardware: dispatch.cpp.
#define ETOK_CPU_ISA avx512
#include "vec_avx512.h"
#include "attention_core.h"
#include "isa_entry.h"

namespace etok::kernels::cpu::avx512 {
void attend(Plan& plan, int64_t unit, Scratch& scratch) { attendUnit(plan, unit, scratch); }
void select(Plan& plan, int64_t index, Scratch& scratch) { selectRow(plan, index, scratch); }
bool intLanes() { return IntVec::kAvailable; }
}  // namespace etok::kernels::cpu::avx512
