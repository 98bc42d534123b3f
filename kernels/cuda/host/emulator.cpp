// Runs the CUDA flow kernels on the CPU, for tests on machines without a GPU.
//
// Each CUDA thread of a block is a fiber with its own stack; __syncthreads()
// and __syncwarp() suspend it until every live thread of the block (or of the
// warp) has arrived, as on the device. Kernels without barriers run as plain
// loops. A barrier reached by only part of a block or warp, or a barrier in a
// kernel registered as barrier-free, is reported as an error, not a hang.
// Blocks are independent and run on several OS threads.

#include <setjmp.h>
#include <ucontext.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "host/shim.h"

#include "common.cuh"
#include "densify.cu"
#include "image.cu"
#include "patch_search.cu"
#include "refine.cu"
#include "host/selftest.cu"

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace {

using Body = void (*)(void**);

enum class State { Runnable, AtWarpBarrier, AtBlockBarrier, Done };

struct Fiber {
    ucontext_t context;
    jmp_buf resume;
    std::unique_ptr<char[]> stack;
    uint3 thread;
    State state = State::Runnable;
    bool started = false;
};

constexpr size_t kStackBytes = 128 * 1024;
constexpr unsigned kWarp = 32;

// Per OS thread: the block being run and its fibers.
struct BlockRunner {
    std::vector<Fiber> fibers;
    jmp_buf scheduler;
    size_t current = 0;
    Body body = nullptr;
    void** params = nullptr;
    bool cooperative = false;
    std::string error;

    static void entry();
    void yield(State state);
    bool run_block(Body b, void** p, bool coop);
};

thread_local BlockRunner runner;

void BlockRunner::entry() {
    BlockRunner& r = runner;
    r.body(r.params);
    r.fibers[r.current].state = State::Done;
    _longjmp(r.scheduler, 1);
}

void BlockRunner::yield(State state) {
    if (!cooperative) {
        if (error.empty()) error = "kernel reached a barrier but is registered as barrier-free";
        return;
    }
    Fiber& f = fibers[current];
    f.state = state;
    if (!_setjmp(f.resume)) _longjmp(scheduler, 1);
    threadIdx = fibers[current].thread;
}

bool BlockRunner::run_block(Body b, void** p, bool coop) {
    body = b;
    params = p;
    cooperative = coop;
    size_t n = (size_t)blockDim.x * blockDim.y * blockDim.z;
    auto thread_of = [](size_t t) {
        return uint3{unsigned(t % blockDim.x), unsigned(t / blockDim.x % blockDim.y), unsigned(t / (blockDim.x * blockDim.y))};
    };
    if (!coop) {
        for (size_t t = 0; t < n && error.empty(); t++) {
            threadIdx = thread_of(t);
            body(params);
        }
        return error.empty();
    }
    if (fibers.size() < n) fibers.resize(n);
    for (size_t t = 0; t < n; t++) {
        Fiber& f = fibers[t];
        if (!f.stack) f.stack.reset(new char[kStackBytes]);
        f.thread = thread_of(t);
        f.state = State::Runnable;
        f.started = false;
    }
    size_t warps = (n + kWarp - 1) / kWarp;
    for (;;) {
        for (size_t t = 0; t < n; t++) {
            Fiber& f = fibers[t];
            if (f.state != State::Runnable) continue;
            current = t;
            threadIdx = f.thread;
            if (!_setjmp(scheduler)) {
                if (!f.started) {
                    f.started = true;
                    getcontext(&f.context);
                    f.context.uc_stack.ss_sp = f.stack.get();
                    f.context.uc_stack.ss_size = kStackBytes;
                    f.context.uc_link = nullptr;
                    makecontext(&f.context, &BlockRunner::entry, 0);
                    ucontext_t here;
                    swapcontext(&here, &f.context);
                } else {
                    _longjmp(f.resume, 1);
                }
            }
        }
        // Every thread is now done or waiting at a barrier.
        bool released = false, live = false;
        for (size_t w = 0; w < warps; w++) {
            size_t lo = w * kWarp, hi = std::min(n, lo + kWarp);
            size_t at_warp = 0, at_block = 0;
            for (size_t t = lo; t < hi; t++) {
                at_warp += fibers[t].state == State::AtWarpBarrier;
                at_block += fibers[t].state == State::AtBlockBarrier;
            }
            if (at_warp > 0 && at_block > 0) {
                error = "warp " + std::to_string(w) + " diverged: some lanes wait in __syncwarp, others in __syncthreads";
                return false;
            }
            if (at_warp > 0) {
                for (size_t t = lo; t < hi; t++)
                    if (fibers[t].state == State::AtWarpBarrier) fibers[t].state = State::Runnable;
                released = true;
            }
            live |= at_warp + at_block > 0;
        }
        if (!live) return true;
        if (!released) {
            for (size_t t = 0; t < n; t++)
                if (fibers[t].state == State::AtBlockBarrier) fibers[t].state = State::Runnable;
        }
    }
}

// Argument codes: F float pointer, I int pointer, f float, i int.
template <typename T>
struct ArgCode;
template <>
struct ArgCode<const float*> { static constexpr char code = 'F'; };
template <>
struct ArgCode<float*> { static constexpr char code = 'F'; };
template <>
struct ArgCode<const int*> { static constexpr char code = 'I'; };
template <>
struct ArgCode<int*> { static constexpr char code = 'I'; };
template <>
struct ArgCode<float> { static constexpr char code = 'f'; };
template <>
struct ArgCode<int> { static constexpr char code = 'i'; };

template <typename F, F K>
struct Kernel;
template <typename... A, void (*K)(A...)>
struct Kernel<void (*)(A...), K> {
    static constexpr char signature[] = {ArgCode<A>::code..., '\0'};
    static void run(void** p) { call(p, std::index_sequence_for<A...>{}); }
    template <size_t... I>
    static void call(void** p, std::index_sequence<I...>) {
        K(*static_cast<std::remove_reference_t<A>*>(p[I])...);
    }
};

struct Entry {
    const char* name;
    Body body;
    const char* signature;
    bool cooperative;
};

#define FLOW_KERNEL(name, cooperative) \
    Entry { #name, &Kernel<decltype(&name), &name>::run, Kernel<decltype(&name), &name>::signature, cooperative }

const Entry kKernels[] = {
    FLOW_KERNEL(flow_pyr_down, false),
    FLOW_KERNEL(flow_sobel, false),
    FLOW_KERNEL(flow_resize_field, false),
    FLOW_KERNEL(flow_patch_search, true),
    FLOW_KERNEL(flow_densify, false),
    FLOW_KERNEL(flow_refine_warp, false),
    FLOW_KERNEL(flow_difference, false),
    FLOW_KERNEL(flow_accumulate, false),
    FLOW_KERNEL(flow_refine_smoothness, false),
    FLOW_KERNEL(flow_refine_edges, false),
    FLOW_KERNEL(flow_refine_coefficients, false),
    FLOW_KERNEL(flow_refine_sor, false),
    FLOW_KERNEL(emu_block_barrier, true),
    FLOW_KERNEL(emu_warp_sum, true),
    FLOW_KERNEL(emu_divergent_barrier, true),
    FLOW_KERNEL(emu_undeclared_barrier, false),
};

const Entry* find(const char* name) {
    for (const Entry& e : kKernels)
        if (std::strcmp(e.name, name) == 0) return &e;
    return nullptr;
}

}  // namespace

void __syncthreads() { runner.yield(State::AtBlockBarrier); }
void __syncwarp() { runner.yield(State::AtWarpBarrier); }

// Through per-thread slots: every lane publishes, the warp meets, every lane
// reads its partner, and the warp meets again before the slots are reused.
float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    (void)mask;
    static thread_local std::vector<float> slots;
    size_t t = threadIdx.x + (size_t)blockDim.x * (threadIdx.y + (size_t)blockDim.y * threadIdx.z);
    size_t n = (size_t)blockDim.x * blockDim.y * blockDim.z;
    if (slots.size() < n) slots.resize(n);
    slots[t] = v;
    __syncwarp();
    float other = slots[t ^ (size_t)lane_mask];
    __syncwarp();
    return other;
}

// The argument codes of a kernel, or null when there is no such kernel.
extern "C" const char* maflow_emu_signature(const char* name) {
    const Entry* e = find(name);
    return e ? e->signature : nullptr;
}

// Runs a kernel over its whole grid; params[i] points at argument i, as for
// cuLaunchKernel. Returns 0, or 1 with a message in err.
extern "C" int maflow_emu_launch(const char* name, const unsigned* grid, const unsigned* block, void** params, char* err,
                                 size_t err_len) {
    const Entry* e = find(name);
    if (!e) {
        std::snprintf(err, err_len, "no kernel named %s", name);
        return 1;
    }
    size_t blocks = (size_t)grid[0] * grid[1] * grid[2];
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::string first_error;
    std::atomic_flag error_taken = ATOMIC_FLAG_INIT;
    auto work = [&] {
        gridDim = dim3{grid[0], grid[1], grid[2]};
        blockDim = dim3{block[0], block[1], block[2]};
        runner.error.clear();
        for (size_t b; !failed && (b = next++) < blocks;) {
            blockIdx = uint3{unsigned(b % grid[0]), unsigned(b / grid[0] % grid[1]), unsigned(b / ((size_t)grid[0] * grid[1]))};
            if (!runner.run_block(e->body, params, e->cooperative)) {
                failed = true;
                if (!error_taken.test_and_set())
                    first_error = std::string(name) + ", block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) + "," +
                                  std::to_string(blockIdx.z) + "): " + runner.error;
            }
        }
    };
    unsigned threads = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), (unsigned)std::min<size_t>(blocks, 64)));
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; t++) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (failed) {
        std::snprintf(err, err_len, "%s", first_error.c_str());
        return 1;
    }
    return 0;
}
