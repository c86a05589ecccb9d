//! `elman-bench --phases BACKEND HIDDEN`: where the time of one window of batched training goes
//! on a device (batch 256, 64 steps, as the `batched` workload), one JSON line per phase in µs.
//! Each phase runs on its own, repeated between two device syncs, its results summed so that
//! nothing is left unexecuted; the sums add a small reduction to every phase alike.
//!
//! The phases are `bptt.rs`'s window on a GPU: the input projection (as a product and
//! broadcast, as `bptt.rs` did before the forward kernel took it in), the forward recurrence
//! kernel, the outputs and `dL/dh` (as tensor operations and as `bptt.rs` runs them, one
//! `kernel::readout`), the backward recurrence kernel, the weight gradients (as one
//! product over every row and as a product per step, summed), an Adam update of both matrices
//! as tensor operations and through `kernel::adam`, one launch for both (what `optim.rs` does
//! on a GPU), then
//! inference's parts (a batch's upload, its forward pass and squared errors in one launch or as
//! the recurrence kernel and products), a read-back of one number, and the inference of 1,024
//! sequences as one launch against four, and in each workgroup layout of the one-launch kernel.

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Distribution;
use elman_model::kernel;

/// Times `phase`: three warm-up runs, then `reps` between two syncs; µs per run.
fn time(device: &Device, reps: usize, phase: impl Fn() -> Tensor<2>) -> f64 {
    let mut total: Option<Tensor<1>> = None;
    let mut add = |t: Tensor<2>| {
        let sum = t.sum();
        total = Some(match total.take() {
            Some(total) => total + sum,
            None => sum,
        });
    };
    for _ in 0..3 {
        add(phase());
    }
    device.sync().expect("the device runs");
    let started = Instant::now();
    for _ in 0..reps {
        add(phase());
    }
    device.sync().expect("the device runs");
    let elapsed = started.elapsed().as_secs_f64();
    let total = total.expect("at least one run").into_scalar::<f32>();
    assert!(total.is_finite() || total.is_nan(), "a number came back");
    elapsed * 1e6 / reps as f64
}

/// The phases of one window at `d_hidden` on `device`: `(phase, µs)`.
pub fn run(device: &Device, d_hidden: usize) -> Vec<(&'static str, f64)> {
    let (batch, steps) = (256, 64);
    let rows = batch * steps;
    let normal = |shape: [usize; 2], std: f64| {
        Tensor::<2>::random(shape, Distribution::Normal(0.0, std), device)
    };
    let scale = 1.0 / (d_hidden as f64).sqrt();
    let (x, targets) = (normal([rows, 1], 1.0), normal([rows, 1], 1.0));
    let (w1x, w1h, w2) = (
        normal([1, d_hidden], 0.1),
        normal([d_hidden, d_hidden], scale),
        normal([d_hidden, 1], 0.1),
    );
    let h0 = Tensor::<2>::zeros([batch, d_hidden], device);
    let w1 = Tensor::cat(vec![w1x.clone(), w1h.clone()], 0);
    let h =
        kernel::recurrence_forward(x.clone(), w1.clone(), h0.clone()).slice(batch..rows + batch);
    let dy = (h.clone().matmul(w2.clone()) - targets.clone()).mul_scalar(2.0 / rows as f64);
    let g = dy.clone().matmul(w2.clone().transpose());
    let da = kernel::recurrence_backward(h.clone(), g.clone(), w1h.clone(), batch);
    let previous = Tensor::cat(
        vec![h0.clone(), h.clone().slice(s![0..rows - batch, ..])],
        0,
    );
    let xh = Tensor::cat(vec![x.clone(), previous], 1);
    let per_step = |a: Tensor<2>, b: Tensor<2>| {
        let ([_, m], [_, n]) = (a.dims(), b.dims());
        let a = a.reshape([steps, batch, m]).swap_dims(1, 2);
        a.matmul(b.reshape([steps, batch, n]))
            .sum_dim(0)
            .reshape([m, n])
    };
    let (m1, v1) = (w1.zeros_like(), w1.zeros_like());
    let (m2, v2) = (w2.zeros_like(), w2.zeros_like());
    let adam = |w: Tensor<2>, grad: Tensor<2>, m: Tensor<2>, v: Tensor<2>| {
        let m = m.mul_scalar(0.9) + grad.clone().mul_scalar(0.1);
        let v = v.mul_scalar(0.999) + grad.square().mul_scalar(0.001);
        w - (m.div_scalar(0.1) / (v.div_scalar(0.001).sqrt().add_scalar(1e-8))).mul_scalar(1e-3)
    };
    let (grad_w1, grad_w2) = (
        per_step(xh.clone(), da.clone()),
        per_step(h.clone(), dy.clone()),
    );
    let host = |t: &Tensor<2>| {
        t.clone()
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("floats")
    };
    let (host_x, host_y) = (host(&x), host(&targets));
    let reps = 20;
    let mut phases = vec![
        (
            "projection",
            time(device, reps, || x.clone().matmul(w1x.clone())),
        ),
        (
            "projection, broadcast",
            time(device, reps, || x.clone() * w1x.clone()),
        ),
        (
            "forward recurrence",
            time(device, reps, || {
                kernel::recurrence_forward(x.clone(), w1.clone(), h0.clone())
            }),
        ),
        (
            "outputs and dL/dh",
            time(device, reps, || {
                (h.clone().matmul(w2.clone()) - targets.clone()).mul_scalar(2.0 / rows as f64)
                    * w2.clone().transpose()
            }),
        ),
        (
            "outputs, dL/dy, dL/dh and the loss's terms in one launch",
            time(device, reps, || {
                let [_, g, _] =
                    kernel::readout(h.clone(), targets.clone(), w2.clone(), 2.0 / rows as f32);
                g
            }),
        ),
        (
            "backward recurrence",
            time(device, reps, || {
                kernel::recurrence_backward(h.clone(), g.clone(), w1h.clone(), batch)
            }),
        ),
        (
            "dW1 as one product",
            time(device, reps, || xh.clone().transpose().matmul(da.clone())),
        ),
        (
            "dW1 per step, summed",
            time(device, reps, || per_step(xh.clone(), da.clone())),
        ),
        (
            "dW2 per step, summed",
            time(device, reps, || per_step(h.clone(), dy.clone())),
        ),
        (
            "Adam on W1 and W2",
            time(device, reps, || {
                let w2 = adam(w2.clone(), grad_w2.clone(), m2.clone(), v2.clone());
                adam(w1.clone(), grad_w1.clone(), m1.clone(), v1.clone()) + w2.sum().reshape([1, 1])
            }),
        ),
        (
            "Adam on W1 and W2, one kernel for both",
            time(device, reps, || {
                let step = kernel::AdamStep {
                    lr: 1e-3,
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-8,
                    c1: 0.1,
                    c2: 0.001,
                };
                let [[w1, _, _], [w2, _, _]] = kernel::adam(
                    [w1.clone(), grad_w1.clone(), m1.clone(), v1.clone()],
                    [w2.clone(), grad_w2.clone(), m2.clone(), v2.clone()],
                    step,
                );
                w1 + w2.sum().reshape([1, 1])
            }),
        ),
        (
            "inference: upload a batch's inputs and targets",
            time(device, reps, || {
                let upload = |values: &Vec<f32>| {
                    Tensor::<2>::from_data(TensorData::new(values.clone(), [rows, 1]), device)
                };
                upload(&host_x) + upload(&host_y)
            }),
        ),
        (
            "inference: forward pass and squared errors in one launch",
            time(device, reps, || {
                kernel::forward_squares(x.clone(), targets.clone(), w1.clone(), w2.clone(), batch)
            }),
        ),
        (
            "inference: recurrence kernel and products",
            time(device, reps, || {
                let h = kernel::recurrence_forward(x.clone(), w1.clone(), h0.clone())
                    .slice(batch..rows + batch);
                (h.matmul(w2.clone()) - targets.clone())
                    .square()
                    .sum()
                    .reshape([1, 1])
            }),
        ),
        (
            "one launch: an addition of two numbers",
            time(device, reps, || {
                let one = Tensor::<2>::ones([1, 1], device);
                one.clone() + one
            }),
        ),
        (
            "read back one number",
            time(device, reps, || {
                let value = w2.clone().sum().into_scalar::<f32>();
                Tensor::<2>::from_data(TensorData::new(vec![value], [1, 1]), device)
            }),
        ),
    ];
    phases.extend(inference_at_once(device, reps, &w1, &w2));
    phases
}

/// The bench's inference over 1,024 sequences of 64 steps, already on the device, as `evaluate`
/// can run it on a card: one launch for all of them against four launches of 256, through the
/// one-launch forward pass (with its units per column chosen by the kernel and forced to 1, 2
/// and 4, where they fit a workgroup) and through the recurrence kernel and products.
fn inference_at_once(
    device: &Device,
    reps: usize,
    w1: &Tensor<2>,
    w2: &Tensor<2>,
) -> Vec<(&'static str, f64)> {
    let (sequences, batch, steps) = (1024, 256, 64);
    let d_hidden = w2.dims()[0];
    let normal =
        |rows: usize| Tensor::<2>::random([rows, 1], Distribution::Normal(0.0, 1.0), device);
    let (x, targets) = (normal(sequences * steps), normal(sequences * steps));
    let quarters = |t: &Tensor<2>| -> Vec<Tensor<2>> {
        (0..sequences / batch)
            .map(|i| t.clone().slice(i * batch * steps..(i + 1) * batch * steps))
            .collect()
    };
    let (xs, ys) = (quarters(&x), quarters(&targets));
    let one_launch = |x: &Tensor<2>, y: &Tensor<2>, n: usize, parts: Option<usize>| {
        kernel::forward_squares_in_parts(x.clone(), y.clone(), w1.clone(), w2.clone(), n, parts)
            .sum()
            .reshape([1, 1])
    };
    let recurrence = |x: &Tensor<2>, y: &Tensor<2>, n: usize| {
        let h0 = Tensor::<2>::zeros([n, d_hidden], device);
        let h = kernel::recurrence_forward(x.clone(), w1.clone(), h0).slice(n..(steps + 1) * n);
        (h.matmul(w2.clone()) - y.clone())
            .square()
            .sum()
            .reshape([1, 1])
    };
    let add = |parts: Vec<Tensor<2>>| {
        parts
            .into_iter()
            .reduce(|a, b| a + b)
            .expect("four quarters")
    };
    let mut phases = vec![
        (
            "inference of 1,024: recurrence kernel and products, four launches of 256",
            time(device, reps, || {
                add((0..4).map(|i| recurrence(&xs[i], &ys[i], batch)).collect())
            }),
        ),
        (
            "inference of 1,024: recurrence kernel and products, one launch",
            time(device, reps, || recurrence(&x, &targets, sequences)),
        ),
    ];
    // The one-launch kernel where its columns (the neurons and one output) fit a workgroup four
    // units each (evaluate's condition on a card, kernel::forward_squares_available).
    if d_hidden < kernel::MAX_UNITS {
        phases.push((
            "inference of 1,024: one-launch forward, four launches of 256",
            time(device, reps, || {
                add((0..4)
                    .map(|i| one_launch(&xs[i], &ys[i], batch, None))
                    .collect())
            }),
        ));
        phases.push((
            "inference of 1,024: one launch, its 1,024 sums read back (evaluate on a card)",
            time(device, reps, || {
                let squares = kernel::forward_squares(
                    x.clone(),
                    targets.clone(),
                    w1.clone(),
                    w2.clone(),
                    sequences,
                );
                let sums = squares
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .expect("floats");
                let total: f32 = sums.iter().sum();
                Tensor::<2>::from_data(TensorData::new(vec![total], [1, 1]), device)
            }),
        ));
        for (parts, phase) in [
            (None, "inference of 1,024: one-launch forward, one launch"),
            (
                Some(1),
                "inference of 1,024: one launch, 1 unit a column (a barrier a step)",
            ),
            (Some(2), "inference of 1,024: one launch, 2 units a column"),
            (Some(4), "inference of 1,024: one launch, 4 units a column"),
        ] {
            phases.push((
                phase,
                time(device, reps, || one_launch(&x, &targets, sequences, parts)),
            ));
        }
    }
    phases
}
