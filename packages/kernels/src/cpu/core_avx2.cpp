// The attention core compiled for AVX2 + FMA + F16C (this file alone gets -mavx2 -mfma -mf16c; see CMakeLists).
#define ETOK_CPU_ISA avx2
#include "vec_avx2.h"
#include "attention_core.h"
#include "isa_entry.h"

namespace etok::kernels::cpu::avx2 {
void attend(Plan& plan, int64_t unit, Scratch& scratch) { attendUnit(plan, unit, scratch); }
void select(Plan& plan, int64_t index, Scratch& scratch) { selectRow(plan, index, scratch); }
bool intLanes() { return IntVec::kAvailable; }
}  // namespace etok::kernels::cpu::avx2
