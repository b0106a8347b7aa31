#include "probes/split.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

namespace isrguard::probes {
namespace {

void name_this_thread() { pthread_setname_np(pthread_self(), kHelperThreadName); }

}  // namespace

std::size_t default_split_from() {
  // hardware_concurrency() reads /sys on every call; the passes ask on every probe.
  static const std::size_t from = std::thread::hardware_concurrency() >= 2 ? kSplitFromPartitions : kNeverSplit;
  return from;
}

std::size_t split_index(std::size_t n, const std::function<std::size_t(std::size_t)>& weight,
                        std::size_t split_from) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < n; ++i) total += weight(i);
  if (split_from == kNeverSplit || total < split_from || n < 2) return n;
  std::size_t k = 0;
  for (std::size_t sum = 0; k < n && 2 * (sum + weight(k)) <= total; ++k) sum += weight(k);
  // At least one item on each side, so both threads have work.
  return std::clamp<std::size_t>(k, 1, n - 1);
}

std::size_t split_topics(const std::vector<TopicInfo>& topics, std::size_t split_from) {
  return split_index(topics.size(), [&](std::size_t i) { return topics[i].partitions.size(); }, split_from);
}

void run_both(const std::function<void()>& first, const std::function<void()>& second) {
  std::exception_ptr second_error;
  std::thread worker;
  try {
    worker = std::thread([&] {
      name_this_thread();
      try {
        second();
      } catch (...) {
        second_error = std::current_exception();
      }
    });
  } catch (const std::system_error&) {  // no thread to be had: do it here
    first();
    second();
    return;
  }
  std::exception_ptr first_error;
  try {
    first();
  } catch (...) {
    first_error = std::current_exception();
  }
  worker.join();
  if (first_error) std::rethrow_exception(first_error);
  if (second_error) std::rethrow_exception(second_error);
}

SharedLoop::SharedLoop(std::size_t n, std::size_t chunk, std::function<void(std::size_t)> work, bool helped,
                       std::function<void()> before)
    : n_(n), chunk_(std::max<std::size_t>(chunk, 1)), work_(std::move(work)), before_(std::move(before)) {
  if (!helped || n_ <= chunk_) return;
  try {
    helper_ = std::thread([this] {
      name_this_thread();
      try {
        if (before_) before_();
      } catch (...) {
        helper_error_ = std::current_exception();
        next_ = n_;  // nothing may run without it
      }
      ready_ = true;
      ready_.notify_one();
      drain(helper_error_);
    });
  } catch (const std::system_error&) {  // no thread to be had: finish() does it all
  }
}

SharedLoop::~SharedLoop() {
  if (helper_.joinable()) helper_.join();
}

void SharedLoop::drain(std::exception_ptr& error) {
  for (;;) {
    const std::size_t begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (begin >= n_) return;
    const std::size_t end = std::min(n_, begin + chunk_);
    for (std::size_t i = begin; i < end; ++i) {
      try {
        work_(i);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
    }
  }
}

void SharedLoop::finish() {
  std::exception_ptr error;
  if (helper_.joinable()) {
    ready_.wait(false);
  } else if (before_) {
    before_();
  }
  drain(error);
  if (helper_.joinable()) helper_.join();
  if (error) std::rethrow_exception(error);
  if (helper_error_) std::rethrow_exception(helper_error_);
}

}  // namespace isrguard::probes
