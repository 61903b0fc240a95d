using System;
using System.IO;
using System.Linq;
using TorchSharp;

namespace FineTuning.Examples.QuickStart;

/// <summary>Memory figures for the comparison table.</summary>
internal static class Memory
{
    /// <summary>Bytes held by the model's parameters and buffers per pretrained parameter (fp32 = 4).</summary>
    public static double WeightBytesPerParameter(torch.nn.Module model, long pretrainedParameters) =>
        (model.parameters().Sum(p => p.numel() * p.element_size()) + model.buffers().Sum(b => b.numel() * b.element_size())) / (double)pretrainedParameters;

    /// <summary>The process's resident memory in MiB (VmRSS on Linux, the working set elsewhere).</summary>
    public static double ResidentMiB()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return Environment.WorkingSet / (1024.0 * 1024.0);
        string line = File.ReadLines(status).First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }
}
