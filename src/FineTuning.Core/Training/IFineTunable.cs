using TorchSharp;

namespace FineTuning.Training;

/// <summary>
/// A model that knows how it is trained (a causal LM knows next-token cross-entropy, a classifier knows
/// label cross-entropy), so <c>FineTuner.For(model)</c> needs no separate objective.
/// </summary>
/// <typeparam name="TExample">The examples its default objective consumes.</typeparam>
public interface IFineTunable<TExample>
{
    /// <summary>The TorchSharp module whose parameters are trained.</summary>
    torch.nn.Module Module { get; }

    /// <summary>The objective used when the caller supplies none.</summary>
    ITrainingObjective<TExample> DefaultObjective { get; }
}
