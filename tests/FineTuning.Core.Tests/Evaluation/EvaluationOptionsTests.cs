using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Core.Tests.Evaluation;

public sealed class EvaluationOptionsTests
{
    [Fact]
    public void WithEvaluation_CopiesOptions_BuildersStayIndependent()
    {
        using var model = TinyModels.Mlp(2, 2, 2, seed: 1);
        FineTuner<LabeledVector> plain = FineTuner.For(model, new VectorClassificationObjective());
        var options = new EvaluationOptions { OverfittingPatience = 5, Forgetting = new ForgettingCheck(new[] { TokenSequence.ForLanguageModeling(new long[] { 0, 1 }) }) };
        FineTuner<LabeledVector> configured = plain.WithEvaluation(options);
        options.OverfittingPatience = 7;
        options.Forgetting.MaxRelativeIncrease = 3;

        Assert.Equal(2, plain.EvaluationOptions.OverfittingPatience);
        Assert.True(plain.EvaluationOptions.TaskMetrics);
        Assert.Null(plain.EvaluationOptions.Forgetting);
        Assert.Equal(5, configured.EvaluationOptions.OverfittingPatience);
        Assert.Equal(0.1, configured.EvaluationOptions.Forgetting!.MaxRelativeIncrease);
        Assert.Equal(5, configured.WithOptions(o => o.Epochs = 2).EvaluationOptions.OverfittingPatience);
    }
}
