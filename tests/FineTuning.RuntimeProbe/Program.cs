// Runtime load path probe. Usage: FineTuning.RuntimeProbe explicit|implicit
//   explicit: calls FineTuningRuntime.EnsureLoaded() first; implicit: touches a FineTuning type first (module initializer).
// Trains a 4->1 linear regression a few steps through FineTuner and prints what the parent test checks:
//   "loss <first> -> <last>", "mapped <path of the libLibTorchSharp.so this process mapped>", "patched <path or none>".
// Exit codes: 0 loss fell, 3 loss did not fall, 4 NativeBackendException, 5 any other error.
using System;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

try
{
    if (args.Length > 0 && args[0] == "explicit") FineTuningRuntime.EnsureLoaded();
    else Console.WriteLine($"config {new LlamaConfig().HiddenSize}");

    using var model = nn.Linear(4, 1);
    float[] w = { 1f, -2f, 0.5f, 3f };
    var rows = Enumerable.Range(0, 32).Select(i => Enumerable.Range(0, 4).Select(j => (float)Math.Sin(i * 4 + j)).ToArray()).ToList();
    using var run = FineTuner.For<float[]>(model, (m, batch, device) =>
        {
            using Tensor x = tensor(batch.SelectMany(r => r).ToArray(), batch.Count, 4);
            using Tensor y = tensor(batch.Select(r => r.Zip(w, (a, b) => a * b).Sum()).ToArray(), batch.Count, 1);
            using Tensor diff = ((nn.Module<Tensor, Tensor>)m).forward(x) - y;
            return diff.square().sum();
        })
        .WithOptions(o => { o.Epochs = 4; o.BatchSize = 8; o.LearningRate = 0.05; o.LogEverySteps = 0; })
        .Train(rows);
    double first = run.History[0].Loss, last = run.History[^1].Loss;
    Console.WriteLine($"loss {first:R} -> {last:R}");
    string mapped = File.ReadLines("/proc/self/maps").Select(l => l[Math.Max(0, l.IndexOf('/', StringComparison.Ordinal))..])
        .FirstOrDefault(p => p.EndsWith("/libLibTorchSharp.so", StringComparison.Ordinal)) ?? "none";
    Console.WriteLine($"mapped {mapped}");
    Console.WriteLine($"patched {FineTuningRuntime.PatchedLibraryPath ?? "none"}");
    return last < first ? 0 : 3;
}
catch (NativeBackendException e)
{
    Console.WriteLine($"NativeBackendException: {e.Message}");
    return 4;
}
#pragma warning disable CA1031 // the parent test reads whatever went wrong
catch (Exception e)
{
    Console.WriteLine($"{e.GetType().Name}: {e}");
    return 5;
}
