//! A whole window of backpropagation through time as one Flex operation, spread over threads:
//! [`ElmanWindow::elman_window`]. Every sequence's forward pass, backward pass and weight
//! gradients run in plain loops over its own buffers; the batch is cut into chunks of
//! [`CHUNK`] sequences, each with its own gradient sums, which threads take in turn and which
//! are added in chunk order at the end. So the result is the same, bit for bit, whatever the
//! number of threads.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;

use super::tanh_f32;

/// Sequences per chunk: the unit of work a thread takes, and of the gradient sums.
pub const CHUNK: usize = 16;

/// The window of backpropagation through time as one operation (Flex only).
#[backend_extension(Flex)]
pub trait ElmanWindow: Backend {
    /// One window of time-major inputs `x` (`[T·B, d_input]`) and targets (`[T·B, d_output]`)
    /// from the contexts `h0` (`[B, d_hidden]`), through the network `w1`, `w2`: returns the
    /// sum of squared residuals (`[1]`), `dL/dW1`, `dL/dW2` for a loss whose derivative with
    /// respect to each output is `scale · (y - target)`, and the last contexts (`[B, d_hidden]`),
    /// computed on up to `threads` threads.
    fn elman_window(
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        x: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        scale: f32,
        threads: usize,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );
}

/// [`ElmanWindow::elman_window`] on Burn tensors: `(sum of squares, [dW1, dW2], h_T)`.
///
/// # Panics
/// When the tensors are not on a plain Flex device ([`super::available`]).
pub fn window(
    [w1, w2]: [Tensor<2>; 2],
    x: Tensor<2>,
    targets: Tensor<2>,
    h0: Tensor<2>,
    scale: f64,
    threads: usize,
) -> (Tensor<1>, [Tensor<2>; 2], Tensor<2>) {
    let (squares, g1, g2, last) = <Dispatch as ElmanWindow>::elman_window(
        w1.into_dispatch(),
        w2.into_dispatch(),
        x.into_dispatch(),
        targets.into_dispatch(),
        h0.into_dispatch(),
        scale as f32,
        threads,
    );
    (
        Tensor::from_dispatch(squares),
        [Tensor::from_dispatch(g1), Tensor::from_dispatch(g2)],
        Tensor::from_dispatch(last),
    )
}

/// The sizes and the data of one window, on the host.
struct Window<'a> {
    w1: &'a [f32],
    w2: &'a [f32],
    x: &'a [f32],
    targets: &'a [f32],
    h0: &'a [f32],
    d_input: usize,
    d_hidden: usize,
    d_output: usize,
    batch: usize,
    steps: usize,
    scale: f32,
}

/// One chunk's sums: squared residuals, `dW1`, `dW2`, and its sequences' last contexts.
struct Sums {
    squares: f64,
    g1: Vec<f32>,
    g2: Vec<f32>,
    last: Vec<f32>,
}

impl Window<'_> {
    /// The sums of the sequences `first..first + count`, taken a step at a time together, so
    /// that each row of a weight matrix is read once per step for all of them (a small matrix
    /// product per step, every inner loop an `axpy` along the hidden neurons). Inlined into
    /// [`Window::chunk_simd`], which compiles it for the CPU's vector instructions.
    #[inline(always)]
    fn chunk(&self, first: usize, count: usize) -> Sums {
        let (d_in, h, d_out) = (self.d_input, self.d_hidden, self.d_output);
        let (rows, steps) = (d_in + h, self.steps);
        let mut sums = Sums {
            squares: 0.0,
            g1: vec![0.0; rows * h],
            g2: vec![0.0; h * d_out],
            last: vec![0.0; count * h],
        };
        // The input layers [x_t ; h_{t-1}] of every step and sequence, `[T][count][rows]`, the
        // contexts h_t, `[T][count][h]`, and the residuals, `[T][count][d_out]`.
        let mut layers = vec![0.0f32; steps * count * rows];
        let mut states = vec![0.0f32; steps * count * h];
        let mut residuals = vec![0.0f32; steps * count * d_out];
        let w1h_t = transpose(&self.w1[d_in * h..], h, h);
        let w2_t = transpose(self.w2, h, d_out);
        // Forward: h_t = tanh([x_t ; h_{t-1}] · W1), y_t = h_t · W2.
        for t in 0..steps {
            for s in 0..count {
                let b = first + s;
                let layer = &mut layers[(t * count + s) * rows..(t * count + s + 1) * rows];
                let row = t * self.batch + b;
                layer[..d_in].copy_from_slice(&self.x[row * d_in..(row + 1) * d_in]);
                if t == 0 {
                    layer[d_in..].copy_from_slice(&self.h0[b * h..(b + 1) * h]);
                } else {
                    let previous =
                        &states[((t - 1) * count + s) * h..((t - 1) * count + s + 1) * h];
                    layer[d_in..].copy_from_slice(previous);
                }
            }
            let state = &mut states[t * count * h..(t + 1) * count * h];
            let layer = &layers[t * count * rows..(t + 1) * count * rows];
            for (r, weights) in self.w1.chunks_exact(h).enumerate() {
                for (s, out) in state.chunks_exact_mut(h).enumerate() {
                    axpy(out, layer[s * rows + r], weights);
                }
            }
            state.iter_mut().for_each(|v| *v = tanh_f32(*v));
            let residual = &mut residuals[t * count * d_out..(t + 1) * count * d_out];
            for (s, out) in residual.chunks_exact_mut(d_out).enumerate() {
                let row = t * self.batch + first + s;
                out.copy_from_slice(&self.targets[row * d_out..(row + 1) * d_out]);
                out.iter_mut().for_each(|v| *v = -*v);
            }
            for (s, out) in residual.chunks_exact_mut(d_out).enumerate() {
                for (&v, weights) in state[s * h..(s + 1) * h]
                    .iter()
                    .zip(self.w2.chunks_exact(d_out))
                {
                    axpy(out, v, weights);
                }
            }
            sums.squares += residual.iter().map(|&r| f64::from(r * r)).sum::<f64>();
        }
        if steps > 0 {
            sums.last
                .copy_from_slice(&states[(steps - 1) * count * h..steps * count * h]);
        }
        // Backward, from the last step: dy = s · r, da = (dy · W2ᵀ + da_{t+1} · W1hᵀ) ⊙ (1 - h²);
        // dW2 += hᵀ · dy, dW1 += [x ; h_prev]ᵀ · da.
        let mut next = vec![0.0f32; count * h];
        let mut d_a = vec![0.0f32; count * h];
        let mut d_y = vec![0.0f32; count * d_out];
        for t in (0..steps).rev() {
            let state = &states[t * count * h..(t + 1) * count * h];
            let layer = &layers[t * count * rows..(t + 1) * count * rows];
            for (g, &r) in d_y
                .iter_mut()
                .zip(&residuals[t * count * d_out..(t + 1) * count * d_out])
            {
                *g = self.scale * r;
            }
            d_a.fill(0.0);
            for (o, weights) in w2_t.chunks_exact(h).enumerate() {
                for (s, out) in d_a.chunks_exact_mut(h).enumerate() {
                    axpy(out, d_y[s * d_out + o], weights);
                }
            }
            if t + 1 < steps {
                for (k, weights) in w1h_t.chunks_exact(h).enumerate() {
                    for (s, out) in d_a.chunks_exact_mut(h).enumerate() {
                        axpy(out, next[s * h + k], weights);
                    }
                }
            }
            for (d, &v) in d_a.iter_mut().zip(state) {
                *d *= 1.0 - v * v;
            }
            for (j, g2_row) in sums.g2.chunks_exact_mut(d_out).enumerate() {
                for s in 0..count {
                    axpy(g2_row, state[s * h + j], &d_y[s * d_out..(s + 1) * d_out]);
                }
            }
            for (r, g1_row) in sums.g1.chunks_exact_mut(h).enumerate() {
                for s in 0..count {
                    axpy(g1_row, layer[s * rows + r], &d_a[s * h..(s + 1) * h]);
                }
            }
            std::mem::swap(&mut next, &mut d_a);
        }
        sums
    }

    /// [`Window::chunk`] for the vector instructions of the CPU it runs on (AVX2 and FMA, or
    /// AVX-512, where there are), picked at run time.
    fn chunk_simd(&self, first: usize, count: usize) -> Sums {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || self.chunk(first, count),
        )
    }

    /// Every chunk, on up to `threads` threads, the sums added in chunk order.
    fn run(&self, threads: usize) -> Sums {
        let chunks: Vec<(usize, usize)> = (0..self.batch)
            .step_by(CHUNK)
            .map(|first| (first, CHUNK.min(self.batch - first)))
            .collect();
        let threads = threads.clamp(1, chunks.len().max(1));
        let mut done: Vec<Option<Sums>> = (0..chunks.len()).map(|_| None).collect();
        if threads == 1 {
            for (slot, &(first, count)) in done.iter_mut().zip(&chunks) {
                *slot = Some(self.chunk_simd(first, count));
            }
        } else {
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|thread| {
                        let chunks = &chunks;
                        scope.spawn(move || {
                            (thread..chunks.len())
                                .step_by(threads)
                                .map(|i| (i, self.chunk_simd(chunks[i].0, chunks[i].1)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                for worker in workers {
                    for (i, sums) in worker.join().expect("a window thread") {
                        done[i] = Some(sums);
                    }
                }
            });
        }
        let mut total = Sums {
            squares: 0.0,
            g1: vec![0.0; (self.d_input + self.d_hidden) * self.d_hidden],
            g2: vec![0.0; self.d_hidden * self.d_output],
            last: Vec::with_capacity(self.batch * self.d_hidden),
        };
        for sums in done.into_iter().flatten() {
            total.squares += sums.squares;
            axpy(&mut total.g1, 1.0, &sums.g1);
            axpy(&mut total.g2, 1.0, &sums.g2);
            total.last.extend_from_slice(&sums.last);
        }
        total
    }
}

/// The `rows x cols` row-major matrix `m` transposed.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// `y += a · x`.
#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// The values of a Flex tensor, row-major.
fn values(t: &FlexTensor) -> Vec<f32> {
    t.to_contiguous()
        .as_slice::<f32>()
        .expect("the Elman kernels work on f32 tensors")
        .to_vec()
}

impl ElmanWindow for Flex {
    fn elman_window(
        w1: FlexTensor,
        w2: FlexTensor,
        x: FlexTensor,
        targets: FlexTensor,
        h0: FlexTensor,
        scale: f32,
        threads: usize,
    ) -> (FlexTensor, FlexTensor, FlexTensor, FlexTensor) {
        let (batch, d_hidden) = (h0.layout().shape()[0], h0.layout().shape()[1]);
        let d_input = x.layout().shape()[1];
        let (rows, d_output) = (targets.layout().shape()[0], targets.layout().shape()[1]);
        let [w1, w2, x, targets, h0] = [&w1, &w2, &x, &targets, &h0].map(values);
        let window = Window {
            w1: &w1,
            w2: &w2,
            x: &x,
            targets: &targets,
            h0: &h0,
            d_input,
            d_hidden,
            d_output,
            batch,
            steps: rows / batch.max(1),
            scale,
        };
        let sums = window.run(threads);
        let tensor = |values: Vec<f32>, shape: [usize; 2]| {
            FlexTensor::from_data(TensorData::new(values, shape))
        };
        (
            FlexTensor::from_data(TensorData::new(vec![sums.squares as f32], [1])),
            tensor(sums.g1, [d_input + d_hidden, d_hidden]),
            tensor(sums.g2, [d_hidden, d_output]),
            tensor(sums.last, [batch, d_hidden]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ElmanConfig, ElmanWeights};

    fn tensor(values: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    fn host(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    /// The window's result is the same, bit for bit, on 1, 2, 3 and 8 threads, for a batch
    /// that is not a multiple of the chunk; and one sequence with one step matches the formulas
    /// worked out on the host.
    #[test]
    fn any_number_of_threads_gives_the_same_bits() {
        let config = ElmanConfig {
            d_input: 2,
            d_hidden: 5,
            d_output: 3,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 4);
        let (batch, steps) = (CHUNK * 2 + 3, 4);
        let values = |n: usize, seed: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + seed) * 0.41).sin()).collect()
        };
        let run = |threads: usize| {
            let (squares, [g1, g2], last) = window(
                [
                    tensor(weights.w1.clone(), [7, 5]),
                    tensor(weights.w2.clone(), [5, 3]),
                ],
                tensor(values(steps * batch * 2, 0.0), [steps * batch, 2]),
                tensor(values(steps * batch * 3, 3.0), [steps * batch, 3]),
                tensor(values(batch * 5, 6.0), [batch, 5]),
                0.01,
                threads,
            );
            (
                squares.into_data().try_into_vec_as::<f32>().unwrap(),
                host(g1),
                host(g2),
                host(last),
            )
        };
        let one = run(1);
        for threads in [2, 3, 8] {
            assert_eq!(run(threads), one, "{threads} threads");
        }

        // One step of one sequence: h = tanh([x ; h0] · W1), r = h · W2 - y,
        // dW2 = s · hᵀ r, dW1 = [x ; h0]ᵀ · ((s · r · W2ᵀ) ⊙ (1 - h²)).
        let (x, y, h0, s) = (
            [0.3f32, -0.6],
            [0.2f32, 0.1, -0.4],
            [0.5f32, -0.1, 0.0, 0.2, 0.7],
            0.5f32,
        );
        let (squares, [g1, g2], last) = window(
            [
                tensor(weights.w1.clone(), [7, 5]),
                tensor(weights.w2.clone(), [5, 3]),
            ],
            tensor(x.to_vec(), [1, 2]),
            tensor(y.to_vec(), [1, 3]),
            tensor(h0.to_vec(), [1, 5]),
            f64::from(s),
            1,
        );
        let layer: Vec<f32> = x.iter().chain(&h0).copied().collect();
        let h: Vec<f32> = (0..5)
            .map(|j| {
                (0..7)
                    .map(|i| layer[i] * weights.w1[i * 5 + j])
                    .sum::<f32>()
                    .tanh()
            })
            .collect();
        let r: Vec<f32> = (0..3)
            .map(|o| (0..5).map(|j| h[j] * weights.w2[j * 3 + o]).sum::<f32>() - y[o])
            .collect();
        let d_a: Vec<f32> = (0..5)
            .map(|j| {
                (0..3)
                    .map(|o| s * r[o] * weights.w2[j * 3 + o])
                    .sum::<f32>()
                    * (1.0 - h[j] * h[j])
            })
            .collect();
        let close = |a: &[f32], b: &[f32]| {
            assert_eq!(a.len(), b.len());
            for (a, b) in a.iter().zip(b) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        };
        close(&host(last), &h);
        close(
            &host(g2),
            &(0..15).map(|k| s * h[k / 3] * r[k % 3]).collect::<Vec<_>>(),
        );
        close(
            &host(g1),
            &(0..35)
                .map(|k| layer[k / 5] * d_a[k % 5])
                .collect::<Vec<_>>(),
        );
        let expected: f32 = r.iter().map(|r| r * r).sum();
        close(
            &squares.into_data().try_into_vec_as::<f32>().unwrap(),
            &[expected],
        );
    }
}
