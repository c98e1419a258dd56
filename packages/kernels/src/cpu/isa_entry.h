// Entry points of the attention core per ISA; dispatch.cpp picks one set at prepare time.
#pragma once

#include "plan.h"

namespace etok::kernels::cpu {
namespace portable {
void attend(Plan& plan, int64_t unit, Scratch& scratch);
void select(Plan& plan, int64_t index, Scratch& scratch);
bool intLanes();  // whether int8 read in place can take the integer dot products (int8_dot.h)
}  // namespace portable
namespace avx2 {
void attend(Plan& plan, int64_t unit, Scratch& scratch);
void select(Plan& plan, int64_t index, Scratch& scratch);
bool intLanes();  // whether int8 read in place can take the integer dot products (int8_dot.h)
}  // namespace avx2
namespace avx512 {
void attend(Plan& plan, int64_t unit, Scratch& scratch);
void select(Plan& plan, int64_t index, Scratch& scratch);
bool intLanes();  // whether int8 read in place can take the integer dot products (int8_dot.h)
}  // namespace avx512
}  // namespace etok::kernels::cpu
