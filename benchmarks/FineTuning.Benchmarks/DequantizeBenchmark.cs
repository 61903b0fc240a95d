using BenchmarkDotNet.Attributes;
using FineTuning.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Dequantizing one NF4 4096x4096 weight (blocks of 64, double-quantized scales, as QLoRA stores it) into a new
/// dense tensor: the composition of TorchSharp ops (byte -> value-pair table with index_select, times the block
/// scales; the baseline) against the hand-written SIMD kernel over the packed bytes. <c>KernelInto</c> runs the
/// kernel into a preallocated tensor (no allocation and first-touch page faults), and <c>Copy</c> copies a dense
/// tensor of the same output size into a preallocated one: the memory bandwidth reference.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
[MedianColumn]
public class DequantizeBenchmark
{
    private const int Size = 4096;
    private QuantizedWeight? _weight;
    private Tensor? _source;
    private Tensor? _target;

    /// <summary>Output dtype.</summary>
    [Params(ScalarType.Float32, ScalarType.BFloat16)]
    public ScalarType DType { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(2);
        using var generator = new Generator(5);
        using Tensor w = torch.randn([Size, Size], generator: generator).mul_(0.02);
        _weight = QuantizedWeight.Quantize(w, QuantizationType.NF4, blockSize: 64, doubleQuantization: true);
        _source = w.to(DType);
        _target = torch.empty([Size, Size], DType);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _weight?.Dispose();
        _source?.Dispose();
        _target?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Composed()
    {
        using Tensor t = _weight!.DequantizeRows(0, Size, DType, DequantizeMethod.Composed);
    }

    [Benchmark]
    public void Kernel()
    {
        using Tensor t = _weight!.DequantizeRows(0, Size, DType, DequantizeMethod.Kernel);
    }

    [Benchmark]
    public void KernelInto() => DequantizeKernel.Run(_weight!, 0, Size, _target!);

    [Benchmark]
    public void Copy() => _target!.copy_(_source!);
}
