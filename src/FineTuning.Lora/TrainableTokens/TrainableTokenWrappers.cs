using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.TrainableTokens;

/// <summary>
/// Operations over the trainable-token wrappers LoRA's <c>trainable_token_indices</c> puts in a model
/// (<see cref="LoRAOptions.TrainableTokenIndices"/>): list them, merge them into the base weights, remove them.
/// </summary>
public static class TrainableTokenWrappers
{
    /// <summary>The trainable-token wrappers of <paramref name="model"/> with their full module names.</summary>
    /// <param name="model">The model.</param>
    /// <returns>The wrappers, in module order.</returns>
    public static IReadOnlyList<(string Name, TrainableTokensWrapper Wrapper)> Wrappers(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.named_modules().Where(m => m.module is TrainableTokensWrapper).Select(m => (m.name, (TrainableTokensWrapper)m.module)).ToList();
    }

    /// <summary>Wraps the modules <paramref name="options"/> names (already validated) and makes their rows trainable.</summary>
    internal static void Apply(nn.Module model, LoRAOptions options)
    {
        (List<TrainableTokenTargets.Target> targets, List<string> problems) = TrainableTokenTargets.Resolve(model, options);
        if (problems.Count > 0) throw new Training.InvalidConfigurationException(problems);
        foreach (TrainableTokenTargets.Target t in targets)
            ModuleSurgery.Replace(t.Parent, t.ChildName, t.Module, new TrainableTokensWrapper(t.Module, t.Indices, options.AdapterName));
    }

    /// <summary>
    /// Puts each wrapped embedding (or head) back in the model; with <paramref name="merge"/> its trained rows are first
    /// written into the base weight (PEFT's merge: <c>index_copy</c>), so the plain model computes what the adapted one did.
    /// </summary>
    /// <param name="model">The model; changed in place.</param>
    /// <param name="merge">Whether to keep the trained rows.</param>
    /// <returns>How many wrappers were removed.</returns>
    public static int Unload(nn.Module model, bool merge)
    {
        ArgumentNullException.ThrowIfNull(model);
        Dictionary<string, nn.Module> modules = model.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        IReadOnlyList<(string Name, TrainableTokensWrapper Wrapper)> wrappers = Wrappers(model);
        foreach ((string name, TrainableTokensWrapper wrapper) in wrappers)
        {
            TrainableTokensLayer layer = wrapper.TokenAdapter;
            var baseLayer = (nn.Module<Tensor, Tensor>)wrapper.BaseLayer;
            if (merge)
            {
                using var noGrad = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                Tensor weight = baseLayer is Embedding e ? e.weight! : ((Linear)baseLayer).weight!;
                using Tensor index = torch.tensor(layer.TokenIndices.Select(i => (long)i).ToArray(), device: weight.device);
                weight.index_copy_(0, index, layer.Rows.to(weight.dtype));
            }

            int dot = name.LastIndexOf('.');
            nn.Module parent = dot < 0 ? model : modules[name[..dot]];
            ModuleSurgery.Replace(parent, dot < 0 ? name : name[(dot + 1)..], wrapper, baseLayer);
        }

        return wrappers.Count;
    }

    /// <summary>Makes every wrapper use its base weight unchanged until the token is disposed.</summary>
    internal static IDisposable Disable(nn.Module model)
    {
        var layers = Wrappers(model).Select(w => w.Wrapper.TokenAdapter).Where(l => !l.Disabled).ToList();
        foreach (TrainableTokensLayer l in layers) l.Disabled = true;
        return new Restore(layers);
    }

    private sealed class Restore(List<TrainableTokensLayer> layers) : IDisposable
    {
        public void Dispose()
        {
            foreach (TrainableTokensLayer l in layers) l.Disabled = false;
            layers.Clear();
        }
    }
}
