using FineTuning.Training;
using TorchSharp;

namespace FineTuning;

/// <summary>
/// Creates fine-tuning builders that start from the application's defaults (logging from DI, default
/// <see cref="TrainingOptions"/>). Registered by <c>services.AddFineTuning(...)</c>.
/// </summary>
public interface IFineTunerFactory
{
    /// <summary>A builder for a model that knows its objective, with the registered defaults applied.</summary>
    FineTuner<TExample> For<TExample>(IFineTunable<TExample> model);

    /// <summary>A builder for any module and objective, with the registered defaults applied.</summary>
    FineTuner<TExample> For<TExample>(torch.nn.Module model, ITrainingObjective<TExample> objective);
}
