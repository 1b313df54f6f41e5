// The element-wise kernels on the host: mask_mul, relu_fwd, relu_bwd,
// channel_affine, bias_relu and adam_step. Reads cases from stdin
// (check.py writes them), one kernel per case, and prints each output
// array on a line, every float as its bit pattern (an exact comparison).
#include "emu.h"
#include "../src/dlp.cu"
#include <cstdio>
#include <cstring>
#include <string>

static std::vector<float> read(size_t n) {
    std::vector<float> v(n);
    for (auto &e : v) {
        uint32_t bits;
        if (scanf("%x", &bits) != 1) exit(2);
        memcpy(&e, &bits, 4);
    }
    return v;
}

static void print(const std::vector<float> &v) {
    for (auto e : v) {
        uint32_t bits;
        memcpy(&bits, &e, 4);
        printf("%08x ", bits);
    }
    printf("\n");
}

static unsigned grid(size_t n) { return (unsigned)((n + THREADS - 1) / THREADS); }

int main() {
    char name[32];
    while (scanf("%31s", name) == 1) {
        std::string k = name;
        size_t n;
        if (scanf("%zu", &n) != 1) return 2;
        if (k == "mask_mul") {
            auto x = read(n), mask = read(n);
            std::vector<float> y(n);
            launch(grid(n), THREADS, [&] { mask_mul(x.data(), mask.data(), y.data(), n); });
            print(y);
        } else if (k == "relu") {
            auto x = read(n), dy = read(n);
            std::vector<float> y(n), dx(n);
            launch(grid(n), THREADS, [&] { relu_fwd(x.data(), y.data(), n); });
            launch(grid(n), THREADS, [&] { relu_bwd(y.data(), dy.data(), dx.data(), n); });
            print(y);
            print(dx);
        } else if (k == "channel_affine") {
            unsigned c;
            size_t inner;
            if (scanf("%u %zu", &c, &inner) != 2) return 2;
            auto x = read(n), mean = read(c), scale = read(c), shift = read(c);
            std::vector<float> y(n);
            launch(grid(n), THREADS, [&] {
                channel_affine(x.data(), y.data(), mean.data(), scale.data(), shift.data(), n, c,
                               inner);
            });
            print(y);
        } else if (k == "bias_relu") {
            unsigned c;
            size_t hw;
            int has_bias, relu;
            if (scanf("%u %zu %d %d", &c, &hw, &has_bias, &relu) != 4) return 2;
            auto y = read(n), bias = read(c);
            launch(grid(n), THREADS, [&] {
                bias_relu(y.data(), has_bias ? bias.data() : nullptr, n, c, hw, relu);
            });
            print(y);
        } else if (k == "adam_step") {
            auto w = read(n), g = read(n), m = read(n), v = read(n), h = read(6);
            std::vector<float> nw(n), nm(n), nv(n);
            launch(grid(n), THREADS, [&] {
                adam_step(w.data(), g.data(), m.data(), v.data(), nw.data(), nm.data(), nv.data(),
                          n, h[0], h[1], h[2], h[3], h[4], h[5]);
            });
            print(nw);
            print(nm);
            print(nv);
        } else if (k == "chacha8") {
            // n words of key (8), then the counter.
            auto key = std::vector<uint32_t>(n);
            for (auto &e : key)
                if (scanf("%x", &e) != 1) return 2;
            unsigned long long counter;
            if (scanf("%llu", &counter) != 1) return 2;
            uint32_t block[16];
            chacha8_block(key.data(), counter, block);
            for (auto v : block) printf("%08x ", v);
            printf("\n");
        } else {
            fprintf(stderr, "unknown case %s\n", name);
            return 2;
        }
    }
}
