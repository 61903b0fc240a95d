using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Core.Tests.Monitoring;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Sft;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Sft;

/// <summary>One-call SFT passes evaluation options and callbacks through: it records what a <c>FineTuner.For</c> run records.</summary>
public sealed class SftEvaluationTests : IDisposable
{
    private readonly TempDirectory _dir = new("sft-eval");
    private readonly ByteTokenizer _tokenizer = new();

    public void Dispose() => _dir.Dispose();

    private static void Options(TrainingOptions o)
    {
        o.Epochs = 2;
        o.BatchSize = 4;
        o.LearningRate = 1e-2;
        o.EvaluateEverySteps = 1;
        o.LogEverySteps = 0;
    }

    private ForgettingCheck Forgetting() => ForgettingCheck.FromText(GeneralCorpus.SimpleEnglish.Take(3), _tokenizer, maxTokens: 48);

    [Fact]
    public void Train_WithEvaluationForgettingAndCallback_RecordsWhatTheSameFineTunerRunRecords()
    {
        var sftCalls = new ScriptedRun.Recorder();
        using LlamaForCausalLM sftModel = SftFixture.Model();
        using SftRun sft = FineTuner.ForSft(sftModel, _tokenizer)
            .WithOptions(Options)
            .WithSftOptions(o => { o.ValidationFraction = 0.2; o.Seed = 3; })
            .WithEvaluation(e => e.Forgetting = Forgetting())
            .WithCallback(sftCalls)
            .Train(SftFixture.PromptCompletionFile(_dir.Path));

        // The same model, data, options and evaluation through the general builder.
        var calls = new ScriptedRun.Recorder();
        using LlamaForCausalLM model = SftFixture.Model();
        using TrainingRun run = FineTuner.For(model)
            .WithOptions(Options)
            .WithValidation(sft.Validation!.Sequences)
            .WithEvaluation(e => e.Forgetting = Forgetting())
            .WithCallback(calls)
            .Train(sft.Train.Sequences);

        // 8 training examples in batches of 4 for 2 epochs: 4 steps, evaluated at 0..4.
        string[] expected = { "begin", "eval:0", "step:1", "eval:1", "step:2", "eval:2", "step:3", "eval:3", "step:4", "eval:4" };
        Assert.Equal(expected, sftCalls.Calls.Take(expected.Length));
        Assert.Equal(calls.Calls, sftCalls.Calls);
        Assert.Equal("end", sftCalls.Calls[^1]);
        // Same computation on identically initialised models, in the same order: equal to the last bit.
        Assert.Equal(run.History.Select(h => h.Loss), sft.Training.History.Select(h => h.Loss));
        Assert.Equal(run.Evaluations.Select(e => e.Loss), sft.Training.Evaluations.Select(e => e.Loss));
        Assert.Equal(run.Evaluations.Select(e => e.Metrics["mean_token_accuracy"]), sft.Training.Evaluations.Select(e => e.Metrics["mean_token_accuracy"]));
        ForgettingReport forgetting = Assert.IsType<ForgettingReport>(sft.Training.Forgetting);
        Assert.Equal(run.Forgetting, forgetting);
        Assert.False(forgetting.AdaptersDisabled);
        Assert.Equal(run.Warnings, sft.Warnings);
    }

    [Fact]
    public void WithEvaluation_GenerationWithoutValidationSplit_InvalidConfigurationNamesTheNeed()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        var generation = new GenerationEvaluation(new[] { new GenerationExample("Q1: two plus 1?", " 3.") }, _tokenizer);

        var e = Assert.Throws<InvalidConfigurationException>(() => FineTuner.ForSft(model, _tokenizer)
            .WithSftOptions(o => o.ValidationFraction = 0)
            .WithEvaluation(new EvaluationOptions { Generation = generation })
            .Train(SftFixture.PromptCompletionFile(_dir.Path)));

        Assert.Contains("EvaluationOptions.Generation needs a validation set", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_EosRowUntrained_CallbacksGetTheWarningBeforeTheEnd()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        Parameter embedding = model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter;
        using (no_grad()) embedding[_tokenizer.EosId].zero_();
        embedding.requires_grad = false; // tied to the head: the EOS row cannot change
        var calls = new ScriptedRun.Recorder();
        var warnings = new WarningCollector();

        using SftRun run = FineTuner.ForSft(model, _tokenizer)
            .WithOptions(o => { o.Epochs = 1; o.BatchSize = 4; o.LearningRate = 1e-2; o.LogEverySteps = 0; })
            .WithSftOptions(o => o.ValidationFraction = 0)
            .WithCallback(calls)
            .WithCallback(warnings)
            .Train(SftFixture.PromptCompletionFile(_dir.Path));

        TrainingWarning warning = Assert.Single(run.Warnings);
        Assert.Equal(("untrained_token", 3L), (warning.Code, warning.Step)); // 10 examples in batches of 4: 3 steps
        Assert.Equal(new[] { "begin", "step:1", "step:2", "step:3", "warning:3", "end" }, calls.Calls);
        Assert.Equal(new[] { warning }, warnings.Seen);
    }

    private sealed class WarningCollector : ITrainingCallback
    {
        public List<TrainingWarning> Seen { get; } = new();

        public void OnWarning(TrainingRun run, TrainingWarning warning) => Seen.Add(warning);
    }
}
