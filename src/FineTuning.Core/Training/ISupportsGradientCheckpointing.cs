namespace FineTuning.Training;

/// <summary>
/// A model whose decoder layers can be checkpointed (Hugging Face's <c>gradient_checkpointing_enable()</c>): while
/// training with gradients, each layer runs its forward without keeping activations, saves only its input, and runs
/// the forward again during backward (the built-in models do this for every layer but the last, whose recomputation
/// would hold the same activations at the same moment). Activation memory drops from every layer's intermediates to one hidden state
/// per layer, for about one more forward pass of compute. Gradients are unchanged (tested to 1e-9 in fp64).
/// <see cref="TrainingOptions.GradientCheckpointing"/> switches it on for a run.
/// </summary>
public interface ISupportsGradientCheckpointing
{
    /// <summary>Whether training forwards (grad mode on, module in training mode, no KV cache) checkpoint their decoder layers. Default false.</summary>
    bool GradientCheckpointing { get; set; }
}
