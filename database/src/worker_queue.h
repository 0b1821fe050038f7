// Per-device run queues: each queue owns THREADS_PER_QUEUE threads that take tasks in order, and
// one watchdog thread enforces the time limits (docs/database.md, "Execution limits").
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace eai {

// A request on a queue. Exactly one of complete() (after run()) and expire() is called: whoever
// moves `state` on first. The queue and the reply side share the task (shared_ptr), so a run
// that is abandoned keeps its task alive until it returns.
struct QueueTask {
    enum : int { QUEUED = 0, RUNNING = 1, DONE = 2, EXPIRED = 3 };
    virtual ~QueueTask() = default;
    // On a worker thread. May call queue_restart_clock() between steps.
    virtual void run() = 0;
    // On the worker thread, after run(), unless the task expired meanwhile.
    virtual void complete() = 0;
    // On the watchdog thread: the request's TIMEOUT passed (queued or running) or its run passed
    // MODEL_EXECUTION_TIMEOUT (`abandoned`: the worker was given up and replaced).
    virtual void expire(bool abandoned) = 0;

    // Batching (a model stored with BATCHSIZE > 0; docs/database.md, "Batching"). Queued tasks
    // with the same non-null batch_group() whose batch_fits() holds run as one: the worker picks
    // the first that may run and the compatible ones queued behind it while their rows stay
    // within batch_limit(); a group short of batch_min() rows waits for more, at most
    // batch_wait_ms() after the first arrived (0: until more come or its TIMEOUT passes).
    virtual const void *batch_group() const { return nullptr; }
    virtual bool batch_fits(const QueueTask &) const { return false; }
    virtual long long batch_rows() const { return 0; }
    virtual long long batch_limit() const { return 0; }
    virtual long long batch_min() const { return 0; }
    virtual long long batch_wait_ms() const { return 0; }
    // On a worker, instead of run() when `others` (taken off the queue with this task) is not
    // empty: runs them all in one go.
    virtual void run_batch(const std::vector<QueueTask *> &) { run(); }

    std::atomic<int> state{QUEUED};
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::chrono::steady_clock::time_point arrival;  // set by queue_submit
};

// Creates the queue for `device` (normalised name) if needed and starts its threads and the
// watchdog.
void queue_ensure(const std::string &device);
// Queues a task; timeout_ms > 0 sets its deadline, counted from now (its arrival).
void queue_submit(const std::string &device, std::shared_ptr<QueueTask> task, long long timeout_ms);
// False (with the reason) when every worker of the queue was abandoned and none may replace
// them (MAX_ABANDONED_RUNS reached).
bool queue_available(const std::string &device, std::string *err);
// Called by a task on its worker: the MODEL_EXECUTION_TIMEOUT clock of the run starts again
// (each operation of a DAG has the whole limit).
void queue_restart_clock();
// Number of queues and threads, and the abandoned runs, for INFO.
std::string queue_summary();
long long queue_abandoned_now();
long long queue_abandoned_total();

// Starts a detached thread with a large stack (256 MiB of address space, touched only as used,
// with a 1 MiB guard below it), enough for libtorch's recursive compiler and loader.
bool thread_start(std::function<void()> fn);

// Runs `fn` on the release thread, once Redis's main thread has let go of the module lock after
// the call: by then Redis has dropped its own references to the client arguments of the command
// being replied to, so a retained argument released by `fn` is freed there. For values whose
// release takes milliseconds (a 100 MB model argument or a model's bytes and parameters: the
// pages go back to the kernel), which the main thread would otherwise spend between two events.
void release_later(std::function<void()> fn);

// Module API calls made off Redis's main thread hold this (the module GIL); on the main thread
// it does nothing. Set the main thread once, at load.
void main_thread_set();
bool on_main_thread();
struct MainThreadLock {
    MainThreadLock();
    ~MainThreadLock();
    MainThreadLock(const MainThreadLock &) = delete;
    MainThreadLock &operator=(const MainThreadLock &) = delete;
    bool locked = false;
};

}  // namespace eai
