using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using FineTuning.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks.QLoRA;

/// <summary>
/// <c>-- qlora-profile [--tokens N] [--threads T] [--rounds R]</c>: where a QLoRA step spends its extra time, one
/// projection of the throughput benchmark's LLaMA shape at a time (hidden 512, FF 1376; tokens = batch x seq):
/// dense <c>linear</c> against <see cref="QuantizedLinear"/> (forward, forward + backward of the input gradient), and
/// the dequantization alone (into a new tensor, into a preallocated one). All variants interleaved in every round;
/// medians printed in milliseconds.
/// </summary>
internal static class QLoRAProfile
{
    public static int Run(string[] args)
    {
        int Option(string name, int fallback)
        {
            int i = Array.IndexOf(args, "--" + name);
            return i >= 0 ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        }

        int tokens = Option("tokens", 1024), threads = Option("threads", 1), rounds = Option("rounds", 20);
        torch.set_num_threads(threads);
        Console.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}; {threads} threads; {tokens} tokens");
        foreach ((long outF, long inF) in new[] { (512L, 512L), (1376L, 512L), (1024L, 2816L), (4096L, 4096L) })
        {
            using var generator = new Generator(11);
            using Tensor w = torch.randn(new[] { outF, inF }, generator: generator).mul_(0.02);
            using Tensor x = torch.randn(new[] { tokens, inF }, generator: generator);
            using Tensor g = torch.randn(new[] { (long)tokens, outF }, generator: generator);
            using var dense = nn.Linear(inF, outF, hasBias: false);
            using (no_grad()) dense.weight!.copy_(w);
            dense.weight!.requires_grad = false;
            using QuantizedLinear q = QuantizedLinear.FromLinear(dense, QuantizationType.NF4);
            using QuantizedLinear chunked = QuantizedLinear.FromLinear(dense, QuantizationType.NF4);
            chunked.ChunkElements = 1 << 20; // the old default
            using Tensor target = torch.empty(new[] { outF, inF });
            var work = new Dictionary<string, Action>(StringComparer.Ordinal)
            {
                ["linear fwd"] = () => { using var _ = no_grad(); using Tensor y = dense.call(x); },
                ["qlinear fwd"] = () => { using var _ = no_grad(); using Tensor y = q.call(x); },
                ["qlinear 2^20 fwd"] = () => { using var _ = no_grad(); using Tensor y = chunked.call(x); },
                ["linear fwd+bwd"] = () => FwdBwd(dense, x, g),
                ["qlinear 2^20 f+b"] = () => FwdBwd(chunked, x, g),
                ["qlinear fwd+bwd"] = () => FwdBwd(q, x, g),
                ["dequant new"] = () => { using Tensor t = q.Weight.DequantizeRows(0, outF, ScalarType.Float32); },
                ["dequant into"] = () => DequantizeKernel.Run(q.Weight, 0, outF, target),
                ["dequant into 1t"] = () => DequantizeKernel.Run(q.Weight, 0, outF, target, 1),
            };
            var times = work.Keys.ToDictionary(k => k, _ => new List<double>(), StringComparer.Ordinal);
            for (int r = -2; r < rounds; r++)
            {
                foreach ((string name, Action a) in work)
                {
                    var clock = Stopwatch.StartNew();
                    a();
                    if (r >= 0) times[name].Add(clock.Elapsed.TotalMilliseconds);
                }
            }

            Console.WriteLine($"[{outF} x {inF}]");
            foreach ((string name, List<double> t) in times)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-18} {t.Order().ElementAt(t.Count / 2),8:F3} ms"));
        }

        return 0;
    }

    private static void FwdBwd(nn.Module<Tensor, Tensor> layer, Tensor x, Tensor g)
    {
        using var scope = NewDisposeScope();
        Tensor input = x.detach().requires_grad_(true);
        Tensor y = layer.call(input);
        y.backward(new[] { g });
    }
}
