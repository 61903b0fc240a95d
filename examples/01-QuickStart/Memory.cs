using System.Linq;
using TorchSharp;

namespace FineTuning.Examples.QuickStart;

/// <summary>Memory figures for the comparison table.</summary>
internal static class Memory
{
    /// <summary>Bytes held by the model's parameters and buffers per pretrained parameter (fp32 = 4).</summary>
    public static double WeightBytesPerParameter(torch.nn.Module model, long pretrainedParameters) =>
        (model.parameters().Sum(p => p.numel() * p.element_size()) + model.buffers().Sum(b => b.numel() * b.element_size())) / (double)pretrainedParameters;
}
