namespace FineTuning.Training;

/// <summary>A loss or gradient norm was NaN or infinite; no update was applied for that step.</summary>
public sealed class NonFiniteLossException : FineTuningException
{
    /// <summary>Creates the exception for optimizer step <paramref name="step"/> (1-based).</summary>
    public NonFiniteLossException(long step, string what, double value)
        : base($"The {what} at optimizer step {step} is {value}; training stopped before applying that step. " +
               "Lower the learning rate, check the data, or set TrainingOptions.NonFiniteLoss = SkipStep.")
    {
        Step = step;
        Value = value;
    }

    /// <summary>The 1-based optimizer step whose loss was not finite.</summary>
    public long Step { get; }

    /// <summary>The offending value.</summary>
    public double Value { get; }
}
