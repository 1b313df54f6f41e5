// Pooling forward and backward, one ChaCha8 block and a dropout mask, on
// the host. Reads pooling cases from stdin (check.py writes them) and
// prints the kernels' outputs, one line each.
#include "emu.h"
#include "../src/dlp.cu"
#include <cstdio>

int main() {
    unsigned planes, h, w, size, stride;
    int is_max;
    while (scanf("%u %u %u %u %u %d", &planes, &h, &w, &size, &stride, &is_max) == 6) {
        unsigned oh = (h - size) / stride + 1, ow = (w - size) / stride + 1;
        std::vector<float> x(planes * h * w), dy(planes * oh * ow), y(dy.size()), dx(x.size());
        for (auto &v : x) scanf("%f", &v);
        for (auto &v : dy) scanf("%f", &v);
        launch((y.size() + 255) / 256, 256, [&] {
            pool_fwd(x.data(), y.data(), planes, h, w, oh, ow, size, stride, is_max);
        });
        launch((x.size() + 255) / 256, 256, [&] {
            pool_bwd(x.data(), dy.data(), dx.data(), planes, h, w, oh, ow, size, stride, is_max);
        });
        for (auto v : y) printf("%.9g ", v);
        printf("\n");
        for (auto v : dx) printf("%.9g ", v);
        printf("\n");
    }
    uint32_t key[8] = {1, 2, 3, 4, 5, 6, 7, 8}, block[16];
    chacha8_block(key, 5, block);
    for (auto v : block) printf("%u ", v);
    printf("\n");
    // 100 units in blocks of 64 (two keys), half dropped, kept ×2.
    std::vector<uint32_t> keys(16);
    for (unsigned i = 0; i < 16; ++i) keys[i] = i * 7 + 1;
    std::vector<float> mask(100);
    launch(1, 256, [&] { dropout_mask(mask.data(), keys.data(), 100, 64, 0x80000000u, 2.0f); });
    for (auto v : mask) printf("%g ", v);
    printf("\n");
}
