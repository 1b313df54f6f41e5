// Batch norm's training forward and backward on the host, in the launch
// sequence of src/ops/cuda/batch_norm.rs. Reads cases from stdin (N C HW
// RELU, then x, dy, γ, β) and prints mean, var, y, dγ, dβ and dx.
#include "emu.h"
#include "../src/dlp.cu"
#include <cstdio>

int main() {
    unsigned n, c, hw;
    int relu;
    while (scanf("%u %u %u %d", &n, &c, &hw, &relu) == 4) {
        size_t len = (size_t)n * c * hw;
        std::vector<float> x(len), dy(len), gamma(c), beta(c);
        for (auto *v : {&x, &dy, &gamma, &beta})
            for (auto &e : *v) scanf("%f", &e);
        // Slices of images per channel, as `slices` in batch_norm.rs.
        unsigned wanted = std::clamp((512u + c - 1) / c, 1u, n);
        unsigned per = (n + wanted - 1) / wanted, count = (n + per - 1) / per;
        std::vector<double> partial(c * count), partial2(c * count);
        std::vector<float> mean(c), var(c), inv(c), y(len), dg(c), db(c), dx(len);
        float eps = 1e-3f, m = (float)(n * hw);
        unsigned blocks = (len + 255) / 256, finish = (c + 255) / 256;
        launch_lockstep(c, count, 256, [&] {
            channel_partials(x.data(), nullptr, partial.data(), n, c, hw, per);
        });
        launch(finish, 256, [&] {
            channel_finish(partial.data(), mean.data(), nullptr, c, count, m, eps);
        });
        launch_lockstep(c, count, 256, [&] {
            channel_partials(x.data(), mean.data(), partial.data(), n, c, hw, per);
        });
        launch(finish, 256, [&] {
            channel_finish(partial.data(), var.data(), inv.data(), c, count, m, eps);
        });
        launch(blocks, 256, [&] {
            bn_apply(x.data(), y.data(), gamma.data(), beta.data(), mean.data(), inv.data(), len, c, hw);
        });
        launch_lockstep(c, count, 256, [&] {
            bn_grad_partials(x.data(), dy.data(), mean.data(), inv.data(), partial.data(),
                             partial2.data(), n, c, hw, per);
        });
        launch(finish, 256, [&] { channel_finish(partial2.data(), dg.data(), nullptr, c, count, 1.0, 0.f); });
        launch(finish, 256, [&] { channel_finish(partial.data(), db.data(), nullptr, c, count, 1.0, 0.f); });
        launch(blocks, 256, [&] {
            bn_grad_dx(x.data(), dy.data(), gamma.data(), mean.data(), inv.data(), dg.data(),
                       db.data(), dx.data(), len, c, hw, m, relu);
        });
        for (auto *v : {&mean, &var, &y, &dg, &db, &dx}) {
            for (auto e : *v) printf("%.9g ", e);
            printf("\n");
        }
    }
}
