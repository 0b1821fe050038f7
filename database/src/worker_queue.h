// Per-device run queues: each queue owns THREADS_PER_QUEUE threads that pop jobs in order.
#pragma once

#include <functional>
#include <string>

namespace eai {

// A job receives true when it waited in the queue longer than its timeout (it must then
// not run the work, only report the time-out).
using Job = std::function<void(bool timed_out)>;

// Creates the queue for `device` (normalised name) if needed and starts its threads.
void queue_ensure(const std::string &device);
// Queues a job; timeout_ms <= 0 means no time-out.
void queue_submit(const std::string &device, Job job, long long timeout_ms);
// Number of queues and threads, for INFO.
std::string queue_summary();

}  // namespace eai
