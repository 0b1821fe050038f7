// Per-device worker queues (see worker_queue.h).
#include "worker_queue.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "backend_torch.h"
#include "config.h"

namespace eai {

namespace {
using Clock = std::chrono::steady_clock;

struct Item {
    Job job;
    Clock::time_point queued;
    long long timeout_ms;
};

struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Item> items;
    int nthreads = 0;
};

std::mutex g_mu;
std::map<std::string, std::shared_ptr<Queue>> g_queues;

void worker_loop(std::shared_ptr<Queue> q) {
    torch_worker_thread_init();
    for (;;) {
        Item it;
        {
            std::unique_lock<std::mutex> lk(q->mu);
            q->cv.wait(lk, [&] { return !q->items.empty(); });
            it = std::move(q->items.front());
            q->items.pop_front();
        }
        bool timed_out = false;
        if (it.timeout_ms > 0) {
            auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - it.queued);
            timed_out = waited.count() > it.timeout_ms;
        }
        try {
            it.job(timed_out);
        } catch (...) {
            // Jobs catch their own errors; this only keeps the thread alive.
        }
    }
}

std::shared_ptr<Queue> get_queue(const std::string &device) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto &q = g_queues[device];
    if (!q) {
        q = std::make_shared<Queue>();
        long long n = g_config.threads_per_queue > 0 ? g_config.threads_per_queue : 1;
        for (long long i = 0; i < n; i++) {
            std::thread(worker_loop, q).detach();
            q->nthreads++;
        }
    }
    return q;
}
}  // namespace

void queue_ensure(const std::string &device) { get_queue(device); }

void queue_submit(const std::string &device, Job job, long long timeout_ms) {
    auto q = get_queue(device);
    {
        std::lock_guard<std::mutex> lk(q->mu);
        q->items.push_back(Item{std::move(job), Clock::now(), timeout_ms});
    }
    q->cv.notify_one();
}

std::string queue_summary() {
    std::lock_guard<std::mutex> lk(g_mu);
    std::string s;
    for (auto &kv : g_queues) {
        if (!s.empty()) s += ",";
        s += kv.first + "=" + std::to_string(kv.second->nthreads);
    }
    return s;
}

}  // namespace eai
