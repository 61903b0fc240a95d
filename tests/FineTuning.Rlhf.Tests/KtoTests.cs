using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Llama;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Losses;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

public sealed class KtoTests
{
    [Fact]
    public void KtoLoss_HandComputed_WithClampedKlEstimate()
    {
        using var scope = NewDisposeScope();
        // r = policy - reference = [0.5, -0.5]; z0 = max(0, mean([-3 + 3.5, -3 + 3.1])) = 0.3
        // desirable: 1 - s(0.1 (0.5 - 0.3)) = 1 - s(0.02); undesirable (weight 1.5): 1.5 (1 - s(0.1 (0.3 + 0.5))) = 1.5 (1 - s(0.08))
        Tensor loss = new KtoLoss(beta: 0.1, undesirableWeight: 1.5).Loss(
            tensor(new[] { -1f, -2f }), tensor(new[] { -1.5f, -1.5f }), tensor(new[] { -3f, -3f }), tensor(new[] { -3.5f, -3.1f }), tensor(new[] { 1f, 0f }));
        Assert.Equal(0.4950001666600003, loss[0].item<float>(), 5);
        Assert.Equal(1.5 * 0.48001065984441826, loss[1].item<float>(), 5);
        // A negative KL estimate is clamped to 0.
        Tensor clamped = new KtoLoss(beta: 0.1).Loss(tensor(new[] { -1f }), tensor(new[] { -1.5f }), tensor(new[] { -3f }), tensor(new[] { -2f }), tensor(new[] { 1f }));
        Assert.Equal(1 - 1 / (1 + System.Math.Exp(-0.05)), clamped[0].item<float>(), 5);
    }

    [Fact]
    public void Kto_OnUnpairedExamples_LearnsTheVisiblePreference()
    {
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        List<PreferencePair> pairs = PreferenceTrainingTests.EvenOverOdd(48, seed: 2), heldOut = PreferenceTrainingTests.EvenOverOdd(32, seed: 3);
        // Unpaired: each pair becomes one desirable and one undesirable example, shuffled apart.
        List<KtoExample> train = pairs.SelectMany(p => new[] { new KtoExample(p.PromptIds, p.ChosenIds, true), new KtoExample(p.PromptIds, p.RejectedIds, false) }).ToList();
        var probe = new PreferenceObjective(new DpoLoss(beta: 1.0));
        probe.AddReference(model, heldOut);

        using TrainingRun run = FineTuner.For(model, new KtoObjective(new KtoLoss(beta: 0.5)))
            .WithOptions(o => { o.Epochs = 8; o.BatchSize = 8; o.LearningRate = 3e-3; })
            .Train(train);

        PreferenceMetrics after = probe.Evaluate(model, heldOut);
        // Before training policy == reference: every reward is 0 (accuracy 0 %, margin 0). Measured after: 88 %, margin 4.27.
        Assert.True(after.Accuracy >= 0.8, $"held-out accuracy after KTO {after.Accuracy:P0}, margin {after.Margin:F3}");
        Assert.True(after.Margin > 1, $"margin {after.Margin:F3}");
    }
}
