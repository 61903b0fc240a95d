using System;
using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// One full training step (forward, loss, backward, AdamW step, zero grad) of a small pre-norm
/// transformer block, fp32 against bf16. This is the unit the trainer repeats, so its cost, and
/// whether bf16 pays off on a CPU, decide the default dtype we recommend.
/// </summary>
// A short job: the step takes tens of milliseconds, so 3 warmups and 20 iterations give a usable
// median within a few minutes even on the shared 2-core machine.
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 20)]
[MedianColumn]
// No [MemoryDiagnoser]: it only counts managed allocations, while the step's memory is native
// libtorch memory the GC never sees; its numbers would look precise and say nothing useful.
public class TrainingStepBenchmark
{
    private const int Hidden = 256;
    private const int Heads = 4;
    private const int Batch = 8;
    private const int Sequence = 128;

    private StepState? _state;

    // Each benchmark runs in its own process, so each builds only the state it measures.
    [GlobalSetup(Target = nameof(Fp32))]
    public void SetupFp32() => _state = CreateState(ScalarType.Float32);

    [GlobalSetup(Target = nameof(Bf16))]
    public void SetupBf16() => _state = CreateState(ScalarType.BFloat16);

    [GlobalCleanup]
    public void Cleanup() => _state?.Dispose();

    [Benchmark(Baseline = true)]
    public float Fp32() => _state!.Step();

    [Benchmark]
    public float Bf16() => _state!.Step();

    private static StepState CreateState(ScalarType dtype)
    {
        // Process-wide: the machine has 2 cores; pinning the count keeps runs comparable.
        torch.set_num_threads(2);
        // Module initializers draw from the global generator; a benchmark may seed it (library code
        // never does). Same seed for both dtypes: the bf16 model is the fp32 model rounded.
        torch.manual_seed(1234);
        return new StepState(dtype, seed: 1);
    }

    /// <summary>Model, optimizer and one fixed batch for one dtype; built once per benchmark process.</summary>
    private sealed class StepState : IDisposable
    {
        private readonly TransformerBlock _model;
        private readonly optim.Optimizer _optimizer;
        private readonly Tensor _input;
        private readonly Tensor _target;

        public StepState(ScalarType dtype, long seed)
        {
            _model = new TransformerBlock(Hidden, Heads);
            // Convert BEFORE building the optimizer: .to() replaces the Parameters, and an optimizer
            // built on the old ones fails at step().
            _model.to(dtype);
            _optimizer = optim.AdamW(_model.parameters(), lr: 1e-4, weight_decay: 0.01);

            using var generator = new Generator((ulong)seed);
            // Drawn in fp32 and then rounded, so the bf16 run sees the fp32 run's data.
            _input = torch.randn([Batch, Sequence, Hidden], generator: generator).to(dtype, disposeAfter: true);
            // Target in fp32: the loss is computed in fp32 for both dtypes (see Step).
            _target = torch.randn([Batch, Sequence, Hidden], generator: generator);
        }

        public float Step()
        {
            // One scope per step, as the trainer does: every temporary tensor (activations, the
            // graph's saved tensors, gradients of intermediates) is released before the next step.
            using var scope = torch.NewDisposeScope();
            var output = _model.forward(_input);
            // Upcast for the loss: a mean over 262k elements in bf16 loses precision, and mixed
            // precision trainers reduce the loss in fp32 too. The cast is cheap next to the block.
            var loss = nn.functional.mse_loss(output.to(ScalarType.Float32), _target);
            loss.backward();
            _optimizer.step();
            _optimizer.zero_grad();
            // Returning the loss as a .NET number keeps the work observable and forces completion.
            return loss.item<float>();
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _model.Dispose();
            _input.Dispose();
            _target.Dispose();
        }
    }
}
