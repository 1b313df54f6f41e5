// Runs kernels/src/dlp.cu on the CPU, for checking the kernels' logic on a
// machine without a GPU (scripts/kernels-on-host.sh). CUDA's qualifiers
// become nothing; a block's threads are real threads that meet at each
// __syncthreads() (launch_lockstep), or, for kernels without one, run one
// after another (launch). Only the logic is checked: not the speed, and
// not CUDA's own rounding of sqrtf or division.
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
struct dim3 {
    unsigned x = 0, y = 0, z = 0;
};
static dim3 blockIdx, blockDim, gridDim;
static thread_local dim3 threadIdx;
static std::barrier<> *block_barrier;
#define __syncthreads() block_barrier->arrive_and_wait()
using std::min;

// A kernel without __syncthreads: every thread of the grid in turn.
template <class F> void launch(unsigned grid, unsigned block, F kernel) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    for (unsigned b = 0; b < grid; ++b) {
        for (unsigned t = 0; t < block; ++t) {
            blockIdx = {b, 0, 0};
            threadIdx = {t, 0, 0};
            kernel();
        }
    }
}

// A kernel with __syncthreads: blocks in turn, each block's threads at once.
template <class F> void launch_lockstep(unsigned gx, unsigned gy, unsigned block, F kernel) {
    gridDim = {gx, gy, 1};
    blockDim = {block, 1, 1};
    for (unsigned by = 0; by < gy; ++by) {
        for (unsigned bx = 0; bx < gx; ++bx) {
            blockIdx = {bx, by, 0};
            std::barrier<> barrier(block);
            block_barrier = &barrier;
            std::vector<std::thread> threads;
            for (unsigned t = 0; t < block; ++t) {
                threads.emplace_back([&, t] {
                    threadIdx = {t, 0, 0};
                    kernel();
                });
            }
            for (auto &t : threads) t.join();
        }
    }
}
