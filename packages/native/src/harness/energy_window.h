// One energy window: back-to-back calls between two readings taken on meter counter steps, so the window spans
// whole update intervals and carries no lag error at either end.
#pragma once

#include <atomic>
#include <cstdint>

#include "harness/executor.h"
#include "harness/harness.h"
#include "meters/meter.h"

namespace etok::harness {

struct WindowRequest {
  double windowS = 0.2;         // the window rule's length (windowTargetSeconds)
  int64_t callsPerWindow = 1;   // in-process: the calibrated count to launch before looking at the clock
  double callS = 0;             // one call's time (bounds the poll gap at the window's end)
};

/** Runs one window on `executor`. In-process executors: the calibrated calls, more until the window is long enough,
    then synchronised calls while polling the meter until its counter steps (the device stays busy to the edge),
    calls counted exactly. Child executors: the child runs back to back while the engine watches the clock and then
    the meter; the calls inside [e0, e1] are counted from the child's rate over its own span. Returns a window with
    calls == 0 when cancelled before the first call. Meter errors propagate. */
Window measureWindow(Executor& executor, meters::Meter& meter, const WindowRequest& request,
                     const std::atomic<bool>& cancel);

}  // namespace etok::harness
