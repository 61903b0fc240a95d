using System;
using BenchmarkDotNet.Attributes;
using FineTuning.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Forward + backward of one LoRA linear layer: the fused autograd node (<c>FusedLoRAFunction</c>) against the
/// plain composition of TorchSharp ops (<c>base(x) + s * B(A(x))</c>), which is the baseline. The base weight is
/// frozen in both, so neither computes its gradient; the input needs a gradient, as inside a network.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
[MedianColumn]
public class LoRAFusedBenchmark
{
    private LoRALinear? _layer;
    private Tensor? _input;
    private Tensor? _gradOutput;

    /// <summary>Layer width (in = out) and tokens per batch.</summary>
    [Params("1024x1024 tokens", "2048x512 tokens")]
    public string Shape { get; set; } = "1024x1024 tokens";

    /// <summary>Parameter and activation dtype.</summary>
    [Params(ScalarType.Float32, ScalarType.BFloat16)]
    public ScalarType DType { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(2);
        (int width, int tokens) = Shape.StartsWith("1024", StringComparison.Ordinal) ? (1024, 1024) : (2048, 512);
        using var generator = new Generator(3);
        torch.manual_seed(3); // Linear's default init; benchmarks may seed the global generator
        _layer = new LoRALinear(nn.Linear(width, width));
        _layer.AddAdapter("default", r: 16, scaling: 2.0, dropout: 0, generator);
        using (no_grad()) _layer.B("default").normal_(0, 0.02, generator);
        _layer.to(DType);
        _input = torch.randn([tokens, width], generator: generator).to(DType, disposeAfter: true).requires_grad_();
        _gradOutput = torch.randn([tokens, width], generator: generator).to(DType, disposeAfter: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _layer?.Dispose();
        _input?.Dispose();
        _gradOutput?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Plain() => Step(fused: false);

    [Benchmark]
    public void Fused() => Step(fused: true);

    private void Step(bool fused)
    {
        using var scope = NewDisposeScope();
        _layer!.UseFusedKernel = fused;
        Tensor y = _layer.call(_input!);
        y.backward(new[] { _gradOutput! });
        _input!.grad = null;
        _layer.zero_grad();
    }
}
