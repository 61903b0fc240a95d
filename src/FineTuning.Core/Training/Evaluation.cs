using System.Collections.Generic;
using FineTuning.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>Mean loss per target over a data set, without gradients, in evaluation mode; with task metrics from the same pass.</summary>
internal static class Evaluation
{
    public static EvaluationMetrics Loss<TExample>(nn.Module model, ITrainingObjective<TExample> objective,
        IReadOnlyList<TExample> data, int batchSize, Device device, long step, bool taskMetrics = false)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            IEvaluatingObjective<TExample>? evaluating = taskMetrics ? objective as IEvaluatingObjective<TExample> : null;
            PredictionRecorder? predictions = evaluating is null ? null : new PredictionRecorder();
            double sum = 0;
            long targets = 0;
            for (int start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int count = System.Math.Min(batchSize, data.Count - start);
                var batch = new TExample[count];
                for (int i = 0; i < count; i++) batch[i] = data[start + i];
                targets += objective.CountTargets(batch);
                Tensor summed = evaluating is null ? objective.SummedLoss(model, batch, device) : evaluating.SummedLoss(model, batch, device, predictions!);
                sum += summed.to(ScalarType.Float64).item<double>();
            }
            var metrics = new EvaluationMetrics(step, targets == 0 ? double.NaN : sum / targets, targets);
            return predictions is null ? metrics : metrics with { Metrics = predictions.ToMetrics(), Classification = predictions.Classification() };
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
