using System.Collections.Generic;
using System.Linq;
using FineTuning.Core.Tests.Training;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;

namespace FineTuning.Core.Tests.Evaluation;

public sealed class EvaluationLeakTests
{
    [Fact]
    public void Train_EvaluatingEveryStepWithTaskMetricsAndForgetting_LiveTensorsDoNotGrow()
    {
        using var model = BigramModel.Successor(vocab: 8, scale: 1);
        var sequences = Enumerable.Range(0, 6).Select(s => TokenSequence.ForLanguageModeling(Enumerable.Range(s, 7).Select(i => (long)(i % 8)).ToArray())).ToArray();
        var live = new Dictionary<long, long>();
        var progress = new TrainerTests.SyncProgress(p =>
        {
            if (p.Step is 5 or 30) live[p.Step] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        });

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (FineTuner.For(model, new CausalLMObjective())
                   .WithOptions(o => { o.MaxSteps = 30; o.BatchSize = 2; o.EvaluateEverySteps = 1; o.LearningRate = 1e-2; o.ParameterDType = torch.ScalarType.Float64; o.LogEverySteps = 0; })
                   .WithValidation(sequences.Take(3).ToArray())
                   .WithEvaluation(e => e.Forgetting = new ForgettingCheck(sequences))
                   .WithProgress(progress)
                   .Train(sequences))
        {
        }

        Assert.Equal(live[5], live[30]);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
