using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace FineTuning.Models.SafeTensors;

/// <summary>Loads many tensors so that a failure part-way leaks none of those already loaded.</summary>
internal static class LoadMany
{
    internal static Dictionary<string, Tensor> All(IReadOnlyList<SafeTensorInfo> tensors, Func<string, Tensor> load)
    {
        var result = new Dictionary<string, Tensor>(tensors.Count, StringComparer.Ordinal);
        try
        {
            foreach (SafeTensorInfo info in tensors) result.Add(info.Name, load(info.Name));
            return result;
        }
        catch
        {
            foreach (Tensor tensor in result.Values) tensor.Dispose();
            throw;
        }
    }
}
