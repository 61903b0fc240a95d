using System.Collections.Generic;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Evaluation;

/// <summary>
/// An objective that reports what the model predicted while computing its loss, so validation measures task metrics
/// (accuracy, macro-F1, <c>mean_token_accuracy</c>) in the same no-grad pass as the validation loss. The built-in
/// classification and causal-LM objectives implement it; implement it in a custom objective to get the same metrics.
/// </summary>
/// <typeparam name="TExample">The example type.</typeparam>
public interface IEvaluatingObjective<TExample> : ITrainingObjective<TExample>
{
    /// <summary>
    /// As <see cref="ITrainingObjective{TExample}.SummedLoss"/>, and records the model's predictions for
    /// <paramref name="examples"/> into <paramref name="predictions"/>. Called without gradients, in evaluation mode,
    /// inside a dispose scope.
    /// </summary>
    Tensor SummedLoss(nn.Module model, IReadOnlyList<TExample> examples, Device device, PredictionRecorder predictions);
}
