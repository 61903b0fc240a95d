using System;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Evaluation;
using FineTuning.Lora.IA3;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>IA3 can be disabled, so forgetting measures its "before" on the trained model with the vectors switched off.</summary>
public sealed class IA3EvaluationTests
{
    /// <summary>Sequences that count downwards: text unlike the upward counting the run learns.</summary>
    private static readonly TokenSequence[] General =
    {
        TokenSequence.ForLanguageModeling(Enumerable.Range(0, 12).Select(i => (long)(40 - 3 * i)).ToArray()),
        TokenSequence.ForLanguageModeling(Enumerable.Range(0, 9).Select(i => (long)(47 - 5 * i)).ToArray()),
    };

    [Fact]
    public void Train_IA3WithForgettingCheck_BeforeIsTheBaseModelsPerplexity_AfterTheAdaptedModels()
    {
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        var check = new ForgettingCheck(General) { MaxRelativeIncrease = 1e9 };

        using TrainingRun run = FineTuner.For(model)
            .WithIA3(ModuleTargets.Names("k_proj", "v_proj", "down_proj"), ModuleTargets.Names("down_proj"))
            .WithOptions(o => { o.MaxSteps = 4; o.LearningRate = 0.1; o.BatchSize = 4; o.LogEverySteps = 0; })
            .WithEvaluation(e => e.Forgetting = check)
            .Train(LlamaLoRATrainingTests.Counting(8, seed: 3));

        double basePerplexity, adaptedPerplexity = FineTuner.For(model).Evaluate(check.GeneralText).Perplexity;
        using (LlamaForCausalLM baseModel = LlamaLoRATrainingTests.TinyLlama()) basePerplexity = FineTuner.For(baseModel).Evaluate(check.GeneralText).Perplexity;
        ForgettingReport report = run.Forgetting!;
        Assert.True(report.AdaptersDisabled);
        // Disabled IA3 layers call the very same base Linear on the same weights: the same computation, bit for bit.
        Assert.Equal(basePerplexity, report.BeforePerplexity);
        Assert.Equal(adaptedPerplexity, report.AfterPerplexity);
        Assert.NotEqual(report.BeforePerplexity, report.AfterPerplexity); // the vectors trained, or the check proves nothing
        Assert.All(IA3Adapter.Layers(model), l => Assert.False(l.Layer.AdapterDisabled));
    }

    [Fact]
    public void DisableAdapters_ModelWithoutIA3_InvalidOperationSaysSo()
    {
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        var e = Assert.Throws<InvalidOperationException>(() => IA3Adapter.DisableAdapters(model));
        Assert.Contains("no IA3 layers", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_WhileDisabled_IsRefused()
    {
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        new IA3Adapter(new IA3Options { Targets = ModuleTargets.Names("v_proj"), FeedforwardModules = null }).Apply(model);
        using (IA3Adapter.DisableAdapters(model))
        {
            var e = Assert.Throws<InvalidOperationException>(() => IA3Adapter.Merge(model));
            Assert.Contains("disabled", e.Message, StringComparison.Ordinal);
        }
        IA3Adapter.Merge(model);
        Assert.All(IA3Adapter.Layers(model), l => Assert.True(l.Layer.IsMerged));
    }
}
