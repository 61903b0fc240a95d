using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>Mean loss per target over a data set, without gradients, in evaluation mode.</summary>
internal static class Evaluation
{
    public static EvaluationMetrics Loss<TExample>(nn.Module model, ITrainingObjective<TExample> objective,
        IReadOnlyList<TExample> data, int batchSize, Device device, long step)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double sum = 0;
            long targets = 0;
            for (int start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int count = System.Math.Min(batchSize, data.Count - start);
                var batch = new TExample[count];
                for (int i = 0; i < count; i++) batch[i] = data[start + i];
                targets += objective.CountTargets(batch);
                sum += objective.SummedLoss(model, batch, device).to(ScalarType.Float64).item<double>();
            }
            return new EvaluationMetrics(step, targets == 0 ? double.NaN : sum / targets, targets);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
