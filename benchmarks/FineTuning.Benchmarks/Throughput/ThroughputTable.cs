using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace FineTuning.Benchmarks.Throughput;

/// <summary>The markdown results table: medians over every timed step of every round, ratios from the same run.</summary>
internal static class ThroughputTable
{
    public static string Format(IReadOnlyList<ThroughputConfig> configs, ThroughputShape shape, Dictionary<string, List<double>> times,
        Dictionary<string, List<double>> rss, double peakGflops)
    {
        double MedianOf(string name) => Median(times[name]);
        double? Reference(string name) => times.ContainsKey(name) ? MedianOf(name) : null;
        double? RssOf(string name) => rss.TryGetValue(name, out List<double>? r) ? r.Max() : null;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"fp32 matmul peak {peakGflops:F1} GFLOP/s; {shape.Batch} x {shape.Sequence} tokens per step");
        text.AppendLine();
        text.AppendLine("| configuration | median step | tokens/s | vs PyTorch | vs plain TorchSharp | MFU | peak RSS | RSS vs PyTorch |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (ThroughputConfig c in configs)
        {
            double median = MedianOf(c.Name);
            // The same adapter's (or LoRA's, for QLoRA) PyTorch and plain runs are the references.
            string adapter = c.Adapter == "qlora" ? "lora" : c.Adapter;
            string suffix = c.DType == TorchSharp.torch.ScalarType.BFloat16 ? ":bf16" : string.Empty;
            double? torch = Reference($"pytorch-{adapter}{suffix}") ?? Reference($"pytorch-{adapter}");
            double? plain = Reference($"plain-{adapter}{suffix}") ?? Reference($"plain-{adapter}");
            double? torchRss = RssOf($"pytorch-{adapter}{suffix}") ?? RssOf($"pytorch-{adapter}");
            double mfu = shape.StepFlops(c.Full) / median / (peakGflops * 1e9);
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Name} | {median:F2} s | {shape.TokensPerStep / median:F0} | {Ratio(torch, median)} | {Ratio(plain, median)} | {mfu:P0} | {rss[c.Name].Max():F0} MiB | {RssRatio(torchRss, rss[c.Name].Max())} |");
        }

        return text.ToString();
    }

    /// <summary>
    /// Lockstep runs only: for each configuration with a plain or PyTorch reference, the ratios reference step k /
    /// configuration step k (steps run back to back), their median, quartiles and how many exceed 1. These are the
    /// speed ratios to quote: each pair met the same machine, so a drift of the host's load between rounds cancels.
    /// </summary>
    public static string Paired(IReadOnlyList<ThroughputConfig> configs, Dictionary<string, List<double>> times, string? reference = null)
    {
        var text = new StringBuilder();
        text.AppendLine("| configuration | reference | paired steps | median ratio | quartiles | pairs above 1.0x |");
        text.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (ThroughputConfig c in configs)
        {
            if (c.Kind != "ours" || c.Name == reference) continue;
            string adapter = c.Adapter == "qlora" ? "lora" : c.Adapter;
            string[] references = reference is null ? [$"plain-{adapter}", $"pytorch-{adapter}"] : [reference];
            foreach (string r in references)
            {
                if (!times.TryGetValue(r, out List<double>? baseline) || baseline.Count != times[c.Name].Count) continue;
                List<double> ratios = baseline.Zip(times[c.Name], (b, t) => b / t).ToList();
                double[] sorted = ratios.Order().ToArray();
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {c.Name} | {r} | {ratios.Count} | {Median(ratios):F3}x | {Quantile(sorted, 0.25):F3}-{Quantile(sorted, 0.75):F3}x | {ratios.Count(x => x > 1)} of {ratios.Count} |");
            }
        }

        return text.ToString();
    }

    /// <summary>Linear interpolation between the closest ranks of sorted values.</summary>
    private static double Quantile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int low = (int)System.Math.Floor(position);
        int high = System.Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }

    private static string Ratio(double? reference, double median) => reference is { } r ? (r / median).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";

    private static string RssRatio(double? reference, double value) => reference is { } r ? (value / r).ToString("P0", CultureInfo.InvariantCulture) : "-";

    private static double Median(List<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
