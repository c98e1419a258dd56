// The attention core compiled for the baseline ISA: the path for CPUs without AVX2 + FMA + F16C.
#define ETOK_CPU_ISA portable
#include "vec_portable.h"
#include "attention_core.h"
#include "isa_entry.h"

namespace etok::kernels::cpu::portable {
void attend(Plan& plan, int64_t unit, Scratch& scratch) { attendUnit(plan, unit, scratch); }
void select(Plan& plan, int64_t index, Scratch& scratch) { selectRow(plan, index, scratch); }
bool intLanes() { return IntVec::kAvailable; }
}  // namespace etok::kernels::cpu::portable
