// Per-device worker queues and the watchdog (see worker_queue.h).
#include "worker_queue.h"

#include <algorithm>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "backend_torch.h"
#include "config.h"
#include "rm_api.h"

namespace eai {

namespace {
using Clock = std::chrono::steady_clock;

constexpr size_t kStackBytes = 256ull << 20;
constexpr size_t kGuardBytes = 1ull << 20;
constexpr auto kWatchdogPeriod = std::chrono::milliseconds(10);
// Queued tasks up to which queue_submit looks for work before waking a worker (above: wakes one)
constexpr size_t kScanOnSubmit = 64;

// One worker thread. `tasks` is the run in progress; `abandoned` marks a thread whose run passed
// MODEL_EXECUTION_TIMEOUT: it exits when (if ever) the run returns.
struct Worker {
    std::vector<std::shared_ptr<QueueTask>> tasks;  // one, or a batch (the first leads)
    Clock::time_point started;
    bool abandoned = false;
    pid_t tid = 0;
};

struct Queue {
    std::string name;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::shared_ptr<QueueTask>> items;
    std::list<std::shared_ptr<Worker>> workers;
    int live = 0;  // workers not abandoned
    // When each worker waiting on cv wakes by itself (max: only when notified). A request that
    // changes nothing for them does not wake them (queue_submit).
    std::multiset<Clock::time_point> sleeps;
};

std::mutex g_mu;
std::map<std::string, std::shared_ptr<Queue>> g_queues;
std::atomic<long long> g_abandoned_now{0}, g_abandoned_total{0};
std::once_flag g_watchdog_once;
thread_local Worker *t_worker = nullptr;
thread_local Queue *t_queue = nullptr;

void start_worker(const std::shared_ptr<Queue> &q);
bool hold_main_thread_if_idle();
void release_main_thread();

// With q.mu held: finds the next tasks to run, the first queued task that may run now and, when
// it batches, the compatible tasks behind it (QueueTask, "Batching"), as indices into q.items in
// queue order. Returns false when every queued task is a batch waiting for rows; *wake is then
// when the first of those waits ends (max: none ends by itself).
bool pick_next(const Queue &q, Clock::time_point now, Clock::time_point *wake, std::vector<size_t> *out) {
    *wake = Clock::time_point::max();
    size_t n = q.items.size();
    std::vector<char> passed(n, 0);
    for (size_t i = 0; i < n; i++) {
        if (q.items[i]->state.load() != QueueTask::QUEUED) passed[i] = 1;  // the watchdog drops it
    }
    for (size_t i = 0; i < n; i++) {
        if (passed[i]) continue;
        QueueTask *head = q.items[i].get();
        std::vector<size_t> pick{i};
        if (const void *group = head->batch_group()) {
            long long rows = head->batch_rows(), limit = head->batch_limit();
            for (size_t j = i + 1; j < n && rows < limit; j++) {
                QueueTask *t = q.items[j].get();
                if (passed[j] || t->batch_group() != group || !head->batch_fits(*t)) continue;
                if (rows + t->batch_rows() > limit) continue;
                pick.push_back(j);
                rows += t->batch_rows();
            }
            if (head->batch_min() > 0 && rows < head->batch_min()) {
                bool waits = head->batch_wait_ms() <= 0;
                if (!waits) {
                    auto due = head->arrival + std::chrono::milliseconds(head->batch_wait_ms());
                    waits = now < due;
                    if (waits && due < *wake) *wake = due;
                }
                if (waits) {
                    for (size_t k : pick) passed[k] = 1;
                    continue;
                }
            }
        }
        *out = std::move(pick);
        return true;
    }
    return false;
}

// With q.mu held: takes off the queue the tasks pick_next finds (none: see pick_next).
std::vector<std::shared_ptr<QueueTask>> take_next(Queue &q, Clock::time_point now, Clock::time_point *wake) {
    std::vector<size_t> pick;
    if (!pick_next(q, now, wake, &pick)) return {};
    std::vector<std::shared_ptr<QueueTask>> out;
    for (size_t k : pick) out.push_back(std::move(q.items[k]));
    for (auto k = pick.rbegin(); k != pick.rend(); ++k) q.items.erase(q.items.begin() + static_cast<long>(*k));
    return out;
}

void worker_loop(std::shared_ptr<Queue> q, std::shared_ptr<Worker> w) {
    torch_worker_thread_init();
    {
        std::lock_guard<std::mutex> lk(q->mu);
        w->tid = static_cast<pid_t>(syscall(SYS_gettid));
    }
    t_worker = w.get();
    t_queue = q.get();
    for (;;) {
        std::vector<std::shared_ptr<QueueTask>> batch, withdrawn;
        bool wake_another = false;
        {
            std::unique_lock<std::mutex> lk(q->mu);
            for (;;) {
                Clock::time_point wake;
                batch = take_next(*q, Clock::now(), &wake);
                // A queued task may have expired meanwhile (the watchdog, or its client gone:
                // Blocked_Disconnected on the main thread): the swap claims only those still queued,
                // so a batch may run below MINBATCHSIZE when one of its requests was withdrawn.
                // Those are released after q->mu (their destructor takes the module lock).
                for (auto it = batch.begin(); it != batch.end();) {
                    int expect = QueueTask::QUEUED;
                    if ((*it)->state.compare_exchange_strong(expect, QueueTask::RUNNING)) {
                        ++it;
                    } else {
                        withdrawn.push_back(std::move(*it));
                        it = batch.erase(it);
                    }
                }
                if (!batch.empty()) break;
                auto sleep = q->sleeps.insert(wake);
                if (wake == Clock::time_point::max()) q->cv.wait(lk);
                else q->cv.wait_until(lk, wake);
                q->sleeps.erase(sleep);
            }
            w->tasks = batch;
            w->started = Clock::now();
            // This worker may have been the one woken for what is left queued (its own batch
            // was due first): another asleep works out again when it must wake.
            wake_another = !q->items.empty() && !q->sleeps.empty();
        }
        withdrawn.clear();
        if (wake_another) q->cv.notify_one();
        try {
            if (batch.size() == 1) {
                batch[0]->run();
            } else {
                std::vector<QueueTask *> others;
                for (size_t k = 1; k < batch.size(); k++) others.push_back(batch[k].get());
                batch[0]->run_batch(others);
            }
        } catch (...) {
            // Tasks catch their own errors; this only keeps the thread alive.
        }
        // Each completion unblocks a client, a write to Redis's module pipe that wakes its main
        // thread; on a core it shares with the worker, the main thread preempts it and replies
        // to that one client before the worker unblocks the next (two context switches per
        // request of a batch). Holding the module lock meanwhile, where it is free (the main
        // thread is waiting for events), keeps the main thread waiting until the whole batch is
        // unblocked: it then replies to all of it in one pass.
        // Only for a batch with clients still to answer (the tasks of a run abandoned after
        // MODEL_EXECUTION_TIMEOUT have expired: that worker runs at the lowest priority).
        size_t answering = 0;
        for (auto &task : batch) answering += task->state.load() == QueueTask::RUNNING;
        {
            struct Hold {
                bool on;
                ~Hold() {
                    if (on) release_main_thread();
                }
            } hold{answering > 1 && hold_main_thread_if_idle()};
            // Redis replies to unblocked clients in the order they were unblocked, but then
            // writes the replies out last-first (each client that has a reply to write goes to
            // the head of its list of pending writes). When the main thread replies to the
            // whole batch in one pass (the lock is held), the batch is unblocked last-first, so
            // that its answers reach the clients in the order their requests came: the request
            // that waited longest is answered first, and a process with several of them,
            // waiting for each in turn, reads each as it arrives instead of waiting for the
            // last write. Otherwise the main thread may reply as they come, first one first.
            auto finish = [](const std::shared_ptr<QueueTask> &task) {
                int expect = QueueTask::RUNNING;
                if (task->state.compare_exchange_strong(expect, QueueTask::DONE)) task->complete();
            };
            if (hold.on) std::for_each(batch.rbegin(), batch.rend(), finish);
            else std::for_each(batch.begin(), batch.end(), finish);
        }
        bool leave;
        {
            std::lock_guard<std::mutex> lk(q->mu);
            w->tasks.clear();
            leave = w->abandoned;
            if (leave) {
                q->workers.remove(w);
                // A fresh thread (normal priority) takes the place this one leaves, if the queue
                // is short of threads because MAX_ABANDONED_RUNS was reached.
                if (q->live < g_config.threads_per_queue) start_worker(q);
            }
        }
        batch.clear();  // may destroy the tasks here; their destructor takes the module lock
        if (leave) {
            g_abandoned_now--;
            return;
        }
    }
}

void start_worker(const std::shared_ptr<Queue> &q) {  // with q->mu held
    auto w = std::make_shared<Worker>();
    if (!thread_start([q, w] { worker_loop(q, w); })) return;
    q->workers.push_back(w);
    q->live++;
}

// `dropped` receives the tasks taken off the queue: the caller releases them after q->mu, as
// the last reference runs a destructor that takes the module lock.
void watch_queue(const std::shared_ptr<Queue> &q, Clock::time_point now,
                 std::vector<std::shared_ptr<QueueTask>> *dropped) {
    std::lock_guard<std::mutex> lk(q->mu);
    // a task taken off may leave a batch behind it complete (or another's wait the first):
    // the workers asleep work out again what to run and when
    struct WakeIfDropped {
        Queue &q;
        size_t before;
        std::vector<std::shared_ptr<QueueTask>> *dropped;
        ~WakeIfDropped() {
            if (dropped->size() > before && !q.sleeps.empty() && !q.items.empty()) q.cv.notify_all();
        }
    } wake_if_dropped{*q, dropped->size(), dropped};
    for (auto it = q->items.begin(); it != q->items.end();) {
        auto &t = *it;
        if (t->state.load() != QueueTask::QUEUED) {  // withdrawn (its client disconnected)
            dropped->push_back(std::move(t));
            it = q->items.erase(it);
        } else if (now > t->deadline || q->live == 0) {
            int expect = QueueTask::QUEUED;
            if (t->state.compare_exchange_strong(expect, QueueTask::EXPIRED)) t->expire(false);
            dropped->push_back(std::move(t));
            it = q->items.erase(it);
        } else {
            ++it;
        }
    }
    auto limit = std::chrono::milliseconds(g_config.model_execution_timeout);
    for (auto &w : q->workers) {
        if (w->tasks.empty() || w->abandoned) continue;
        bool over_limit = now - w->started > limit;
        for (auto &t : w->tasks) {
            if (!over_limit && now <= t->deadline) continue;
            // Past its TIMEOUT alone, the run goes on (for the rest of a batch) and this task's
            // result is discarded; past the limit, the whole run is given up.
            int expect = QueueTask::RUNNING;
            if (t->state.compare_exchange_strong(expect, QueueTask::EXPIRED)) t->expire(over_limit);
        }
        if (!over_limit) continue;
        // The thread cannot be stopped: it is left to finish on its own, at the lowest
        // priority, and another thread takes its place while fewer than MAX_ABANDONED_RUNS are.
        w->abandoned = true;
        q->live--;
        g_abandoned_total++;
        long long now_abandoned = ++g_abandoned_now;
        if (w->tid) setpriority(PRIO_PROCESS, static_cast<id_t>(w->tid), 19);
        if (now_abandoned <= g_config.max_abandoned_runs) start_worker(q);
    }
}

void watchdog_loop() {
    for (;;) {
        std::this_thread::sleep_for(kWatchdogPeriod);
        std::vector<std::shared_ptr<Queue>> qs;
        {
            std::lock_guard<std::mutex> lk(g_mu);
            for (auto &kv : g_queues) qs.push_back(kv.second);
        }
        auto now = Clock::now();
        std::vector<std::shared_ptr<QueueTask>> dropped;
        for (auto &q : qs) watch_queue(q, now, &dropped);
        dropped.clear();
    }
}

std::shared_ptr<Queue> get_queue(const std::string &device) {
    std::call_once(g_watchdog_once, [] { thread_start(watchdog_loop); });
    std::lock_guard<std::mutex> lk(g_mu);
    auto &q = g_queues[device];
    if (!q) {
        q = std::make_shared<Queue>();
        q->name = device;
        long long n = g_config.threads_per_queue > 0 ? g_config.threads_per_queue : 1;
        std::lock_guard<std::mutex> qlk(q->mu);
        for (long long i = 0; i < n; i++) start_worker(q);
    }
    return q;
}

void *thread_main(void *arg) {
    auto *fn = static_cast<std::function<void()> *>(arg);
    try {
        (*fn)();
    } catch (...) {
    }
    delete fn;
    return nullptr;
}

std::thread::id g_main_thread;
RedisModuleCtx *g_lock_ctx = nullptr;

bool hold_main_thread_if_idle() {
    return g_lock_ctx && RM_ThreadSafeContextTryLock(g_lock_ctx) == RM_OK;
}
void release_main_thread() { RM_ThreadSafeContextUnlock(g_lock_ctx); }

// The release thread (release_later). Never destroyed: the thread waits on it until the
// process exits, and a condition variable destroyed at exit would wait for it.
struct ReleaseQueue {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::function<void()>> items;
};
ReleaseQueue *g_release = nullptr;
std::once_flag g_release_once;
thread_local bool t_release_thread = false;

void release_loop() {
    t_release_thread = true;
    for (;;) {
        std::vector<std::function<void()>> batch;
        {
            std::unique_lock<std::mutex> lk(g_release->mu);
            g_release->cv.wait(lk, [] { return !g_release->items.empty(); });
            batch.swap(g_release->items);
        }
        // The main thread holds the module lock from the call of release_later until it next
        // waits for events, having freed the client's arguments (unblocking a client resets it
        // in the same pass). Taking the lock once orders the release after that; the release
        // itself runs without it, so the main thread never waits for it.
        { MainThreadLock after_main_thread; }
        for (auto &fn : batch) fn();
    }
}
}  // namespace

void release_later(std::function<void()> fn) {
    std::call_once(g_release_once, [] {
        auto *q = new ReleaseQueue();
        g_release = q;
        if (!thread_start(release_loop)) g_release = nullptr;
    });
    if (!g_release || t_release_thread) {  // no thread could be started, or on it already
        fn();
        return;
    }
    {
        std::lock_guard<std::mutex> lk(g_release->mu);
        g_release->items.push_back(std::move(fn));
    }
    g_release->cv.notify_one();
}

bool thread_start(std::function<void()> fn) {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return false;
    pthread_attr_setstacksize(&attr, kStackBytes);
    pthread_attr_setguardsize(&attr, kGuardBytes);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    auto *arg = new std::function<void()>(std::move(fn));
    pthread_t th;
    int rc = pthread_create(&th, &attr, thread_main, arg);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        delete arg;
        return false;
    }
    return true;
}

void queue_ensure(const std::string &device) { get_queue(device); }

void queue_submit(const std::string &device, std::shared_ptr<QueueTask> task, long long timeout_ms) {
    auto q = get_queue(device);
    task->arrival = Clock::now();
    if (timeout_ms > 0) task->deadline = task->arrival + std::chrono::milliseconds(timeout_ms);
    bool wake = false;
    {
        std::lock_guard<std::mutex> lk(q->mu);
        q->items.push_back(std::move(task));
        // A waiting worker is woken when it has something to run now, or when it must wake
        // earlier than it would by itself (the request starts a batch's wait). A request that
        // only adds rows to a batch still short of MINBATCHSIZE leaves it asleep: with 8 clients
        // in step, 7 of 8 wake-ups (a context switch each, on a core the clients need) went to
        // finding the batch still short. A long queue is not scanned on the main thread.
        if (!q->sleeps.empty()) {
            Clock::time_point due;
            std::vector<size_t> pick;
            wake = q->items.size() > kScanOnSubmit || pick_next(*q, Clock::now(), &due, &pick) ||
                   due < *q->sleeps.begin();
        }
    }
    if (wake) q->cv.notify_one();
}

bool queue_available(const std::string &device, std::string *err) {
    auto q = get_queue(device);
    std::lock_guard<std::mutex> lk(q->mu);
    if (q->live > 0) return true;
    *err = "ERR every worker of the " + device + " queue is held by a run abandoned after MODEL_EXECUTION_TIMEOUT and MAX_ABANDONED_RUNS (" +
           std::to_string(g_config.max_abandoned_runs) + ") is reached; restart the server";
    return false;
}

void queue_restart_clock() {
    if (!t_worker || !t_queue) return;
    std::lock_guard<std::mutex> lk(t_queue->mu);
    t_worker->started = Clock::now();
}

std::string queue_summary() {
    std::lock_guard<std::mutex> lk(g_mu);
    std::string s;
    for (auto &kv : g_queues) {
        if (!s.empty()) s += ",";
        std::lock_guard<std::mutex> qlk(kv.second->mu);
        s += kv.first + "=" + std::to_string(kv.second->live);
    }
    return s;
}

long long queue_abandoned_now() { return g_abandoned_now.load(); }
long long queue_abandoned_total() { return g_abandoned_total.load(); }

void main_thread_set() {
    g_main_thread = std::this_thread::get_id();
    g_lock_ctx = RM_GetThreadSafeContext(nullptr);
}
bool on_main_thread() { return std::this_thread::get_id() == g_main_thread; }

MainThreadLock::MainThreadLock() {
    if (!on_main_thread() && g_lock_ctx) {
        RM_ThreadSafeContextLock(g_lock_ctx);
        locked = true;
    }
}
MainThreadLock::~MainThreadLock() {
    if (locked) RM_ThreadSafeContextUnlock(g_lock_ctx);
}

}  // namespace eai
