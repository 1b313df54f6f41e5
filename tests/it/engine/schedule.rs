//! Learning-rate tables of the `Scheduler`: the book's figures, warm-up,
//! the epoch-bound schedules and the plateau bookkeeping, with resume.

use dlp::optim::Scheduler;
use dlp::plan::{Mode, Schedule, SchedulePlan};
use std::collections::BTreeMap;

fn plan(kind: Schedule, warmup: usize) -> SchedulePlan {
    SchedulePlan {
        kind,
        warmup,
        warmup_lr: None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1e-12)
}

// Fig. 4.19, "halve every 5 epochs", lr₀ = 0.01: 0.01 for epochs 0–4, 0.005 for 5–9,
// 0.0025 for 10–14, 0.00125 for 15–19.
#[test]
fn book_step_schedule() {
    let s = Scheduler::new(
        &plan(
            Schedule::Step {
                every: 5,
                factor: 0.5,
            },
            0,
        ),
        0.01,
        20,
    );
    let table = [
        (0, 0.01),
        (4, 0.01),
        (5, 0.005),
        (9, 0.005),
        (10, 0.0025),
        (15, 0.00125),
        (19, 0.00125),
    ];
    for (e, want) in table {
        assert!(close(s.lr(e), want), "epoch {e}: {}", s.lr(e));
    }
}

// Fig. 4.20, "× 0.1 every 8 epochs", smooth: lr₀·0.1^(e/8), lr₀ = 0.1:
// e 0 → 0.1, 2 → 0.1·0.1^0.25 = 0.0562341, 8 → 0.01, 16 → 0.001, 20 → 0.1·0.1^2.5 = 3.16228e-4.
#[test]
fn book_exponential_schedule() {
    let s = Scheduler::new(
        &plan(
            Schedule::Exponential {
                every: 8,
                factor: 0.1,
            },
            0,
        ),
        0.1,
        24,
    );
    let table = [
        (0, 0.1),
        (2, 0.056_234_132_5),
        (8, 0.01),
        (16, 0.001),
        (20, 3.162_277_66e-4),
    ];
    for (e, want) in table {
        assert!(
            (s.lr(e) - want).abs() < 1e-8 * want,
            "epoch {e}: {}",
            s.lr(e)
        );
    }
}

// Warm-up E = 3 on step every=2 factor=0.5, lr₀ = 0.3: 0.1, 0.2, 0.3 (warm-up), then the
// step schedule from its epoch 0: 0.3, 0.3, 0.15, 0.15, 0.075.
#[test]
fn warmup_then_the_schedule_counts_from_zero() {
    let s = Scheduler::new(
        &plan(
            Schedule::Step {
                every: 2,
                factor: 0.5,
            },
            3,
        ),
        0.3,
        8,
    );
    let want = [0.1, 0.2, 0.3, 0.3, 0.3, 0.15, 0.15, 0.075];
    for (e, w) in want.iter().enumerate() {
        assert!(close(s.lr(e), *w), "epoch {e}: {}", s.lr(e));
    }
}

// Cosine and linear span the epochs after warm-up: epochs 6, warm-up 2 → span 4.
// Cosine lr₀ = 1, min 0: warm-up 0.5, 1, then 1, 0.853553, 0.5, 0.146447.
// Linear lr₀ = 1 to 0.2 over 5 epochs: 1, 0.84, 0.68, 0.52, 0.36.
#[test]
fn cosine_and_linear_span_the_epoch_bound() {
    let s = Scheduler::new(&plan(Schedule::Cosine { min: 0.0 }, 2), 1.0, 6);
    let want = [0.5, 1.0, 1.0, 0.853_553_39, 0.5, 0.146_446_61];
    for (e, w) in want.iter().enumerate() {
        assert!((s.lr(e) - w).abs() < 1e-8, "cosine epoch {e}: {}", s.lr(e));
    }
    let s = Scheduler::new(&plan(Schedule::Linear { to: 0.2 }, 0), 1.0, 5);
    let want = [1.0, 0.84, 0.68, 0.52, 0.36];
    for (e, w) in want.iter().enumerate() {
        assert!((s.lr(e) - w).abs() < 1e-12, "linear epoch {e}: {}", s.lr(e));
    }
}

// ReduceLROnPlateau(monitor=val_loss, factor=0.5, patience=2, min_delta=1e-4), lr 0.1.
// val_loss: 1.0, 0.9, 0.95, 0.92 → two epochs without improving on 0.9 → 0.05 from epoch 4;
// 0.85 improves; 0.86, 0.87 → 0.025 from epoch 7. A checkpointed state resumes the same.
#[test]
fn plateau_reduces_after_patience_and_resumes() {
    let p = plan(
        Schedule::Plateau {
            monitor: "val_loss".into(),
            mode: Mode::Min,
            factor: 0.5,
            patience: 2,
            min_delta: 1e-4,
            min_lr: 0.0,
        },
        0,
    );
    let mut s = Scheduler::new(&p, 0.1, 10);
    let losses = [1.0, 0.9, 0.95, 0.92, 0.85, 0.86, 0.87];
    let lr_next = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025];
    let mut saved = Vec::new();
    for (e, (l, want)) in losses.iter().zip(lr_next).enumerate() {
        let metrics = BTreeMap::from([("val_loss".to_string(), *l), ("loss".to_string(), 0.0)]);
        s.end_epoch(e, &metrics);
        assert!(close(s.lr(e + 1), want), "after epoch {e}: {}", s.lr(e + 1));
        if e == 4 {
            saved = s.state();
        }
    }
    let mut r = Scheduler::new(&p, 0.1, 10);
    assert!(r.load_state(&saved).is_ok());
    for (e, l) in [(5, 0.86), (6, 0.87)] {
        r.end_epoch(e, &BTreeMap::from([("val_loss".to_string(), l)]));
    }
    assert_eq!(r.state(), s.state());
    assert!(r.load_state(&[1.0]).is_err());
    // Stateless schedules have an empty state and refuse a plateau one.
    let mut c = Scheduler::new(&plan(Schedule::Constant, 0), 0.1, 10);
    assert!(c.state().is_empty());
    assert!(c.load_state(&saved).is_err());
}

// He et al. 2016, §4.2: lr 0.1, divided by 10 at 32k and 48k iterations, stopped at 64k;
// ResNet-110 warms up at 0.01 for ~400 iterations. At batch 128 on 45k images (352
// steps an epoch) that is `schedule milestones at=[91, 137] factor=0.1 warmup=1
// warmup_lr=0.01` with `epochs 182`. PyTorch 2.15, the same table:
//
//   opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
//   s = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[91, 137], gamma=0.1)
//   lrs = []
//   for e in range(182): lrs.append(s.get_last_lr()[0]); opt.step(); s.step()
//   lrs[0], lrs[90], lrs[91], lrs[136], lrs[137], lrs[181]
//   # 0.1 0.1 0.010000000000000002 0.010000000000000002 0.0010000000000000002 0.0010000000000000002
//
// with epoch 0 replaced by the constant warm-up rate 0.01 (milestones still count from
// the first epoch, warm-up included, as the paper's iterations do).
#[test]
fn he_et_al_milestones_with_constant_warmup() {
    let p = SchedulePlan {
        kind: Schedule::Milestones {
            at: vec![91, 137],
            factor: 0.1,
        },
        warmup: 1,
        warmup_lr: Some(0.01),
    };
    let s = Scheduler::new(&p, 0.1, 182);
    let table = [
        (0, 0.01),
        (1, 0.1),
        (90, 0.1),
        (91, 0.01),
        (136, 0.01),
        (137, 0.001),
        (181, 0.001),
    ];
    for (e, want) in table {
        assert!(close(s.lr(e), want), "epoch {e}: {}", s.lr(e));
    }
    // Without warm-up the first epoch runs at lr₀.
    let s = Scheduler::new(&plan(p.kind.clone(), 0), 0.1, 182);
    assert!(close(s.lr(0), 0.1));
    // A constant warm-up rate on another schedule: the schedule then starts at its epoch 0.
    let cos = SchedulePlan {
        kind: Schedule::Cosine { min: 0.0 },
        warmup: 2,
        warmup_lr: Some(0.02),
    };
    let s = Scheduler::new(&cos, 0.1, 6);
    for (e, want) in [(0, 0.02), (1, 0.02), (2, 0.1), (4, 0.05)] {
        assert!(close(s.lr(e), want), "epoch {e}: {}", s.lr(e));
    }
}
