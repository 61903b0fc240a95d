namespace FineTuning.Training;

/// <summary>How the trainer chooses the parameter dtype (<see cref="TrainingOptions.DTypePolicy"/>).</summary>
public enum DTypePolicy
{
    /// <summary>Train in <see cref="TrainingOptions.ParameterDType"/> as set (Float32 unless changed). The default.</summary>
    AsSet = 0,

    /// <summary>
    /// Pick the dtype that is fast on the training device, as Hugging Face's <c>torch_dtype="auto"</c> picks one for
    /// loading: see <see cref="TrainingOptions.DTypePolicy"/> for the rule. Leave <see cref="TrainingOptions.ParameterDType"/>
    /// at its default with this policy; setting both is reported as a configuration problem.
    /// </summary>
    Auto = 1,
}
