using System.Globalization;

namespace FineTuning.Lora;

/// <summary>How many parameters train, of how many.</summary>
/// <param name="Trainable">Parameters with requires_grad.</param>
/// <param name="All">All parameters.</param>
public sealed record ParameterSummary(long Trainable, long All)
{
    /// <summary>Trainable share in percent.</summary>
    public double TrainablePercent => All == 0 ? 0 : 100.0 * Trainable / All;

    /// <summary>As PEFT's <c>print_trainable_parameters</c>: "trainable params: N || all params: M || trainable%: p".</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"trainable params: {Trainable:N0} || all params: {All:N0} || trainable%: {TrainablePercent:F4}");
}
