using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks.Throughput;

/// <summary>This machine's fp32 matrix-product peak: the median of square 2048^3 products (libtorch's BLAS), the MFU denominator.</summary>
internal static class MatmulPeak
{
    public static int Run(int threads)
    {
        torch.set_num_threads(threads);
        const int n = 2048;
        using var generator = new Generator(3);
        using Tensor a = torch.randn(n, n, generator: generator), b = torch.randn(n, n, generator: generator);
        var seconds = new double[9];
        for (int i = -2; i < seconds.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            using (Tensor c = a.mm(b)) { }
            if (i >= 0) seconds[i] = clock.Elapsed.TotalSeconds;
        }

        double median = seconds.Order().ElementAt(seconds.Length / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT matmul gflops={2.0 * n * n * n / median / 1e9:F1}"));
        return 0;
    }
}
