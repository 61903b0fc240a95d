using System;
using System.IO;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Lora.Tests;

/// <summary>
/// For LoRA runs the "before" of forgetting and the prompting baseline is the trained model with its adapters disabled:
/// it must equal a separately loaded base model (stories260K).
/// </summary>
public sealed class AdapterBaselineEvaluationTests
{
    private static readonly string[] GeneralText =
    {
        "Once upon a time, there was a little dog named Max. Max liked to run in the park with his friend.",
        "One day, a girl found a shiny stone. She showed it to her mom, and her mom smiled.",
    };

    private static (LlamaForCausalLM Model, Llama2CTokenizer Tokenizer) Load()
    {
        string dir = ModelFiles.Stories260K();
        LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin"));
        return (model, Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), model.Config.VocabSize));
    }

    private static TokenSequence[] Repeats(ITokenizer tokenizer) =>
        new[] { TokenSequence.ForLanguageModeling(tokenizer.Encode("zebra zebra zebra zebra zebra zebra zebra zebra", addBos: true).Select(i => (long)i).ToArray()) };

    [SkippableFact]
    public void Train_LoRAWithForgettingCheck_BeforeEqualsASeparatelyLoadedBaseModelAndAfterTheAdaptedModel()
    {
        (LlamaForCausalLM model, Llama2CTokenizer tokenizer) = Load();
        using var owned = model;
        ForgettingCheck check = ForgettingCheck.FromText(GeneralText, tokenizer);

        using TrainingRun run = FineTuner.For(model)
            .WithLoRA(r: 4, alpha: 8)
            .WithOptions(o => { o.MaxSteps = 4; o.LearningRate = 2e-2; o.LogEverySteps = 0; })
            .WithEvaluation(e => e.Forgetting = check)
            .Train(Repeats(tokenizer));

        (LlamaForCausalLM baseModel, _) = Load();
        double basePerplexity;
        using (baseModel) basePerplexity = FineTuner.For(baseModel).WithOptions(o => o.BatchSize = check.BatchSize).Evaluate(check.GeneralText).Perplexity;
        double adaptedPerplexity = FineTuner.For(model).WithOptions(o => o.BatchSize = check.BatchSize).Evaluate(check.GeneralText).Perplexity;

        ForgettingReport report = run.Forgetting!;
        Assert.True(report.AdaptersDisabled);
        // Disabled LoRA layers call the very same base Linear on the same weights: the same computation, bit for bit.
        Assert.Equal(basePerplexity, report.BeforePerplexity);
        Assert.Equal(adaptedPerplexity, report.AfterPerplexity);
        Assert.True(report.Ratio > 1, $"learning 'zebra zebra ...' should make stories less likely; ratio {report.Ratio}");
        Assert.Equal(report.Forgot, run.Warnings.Any(w => w.Code == "forgetting"));
    }

    [SkippableFact]
    public void Train_LoRAWithPromptingBaseline_FewShotOutputsAreThoseOfTheBaseModel()
    {
        (LlamaForCausalLM model, Llama2CTokenizer tokenizer) = Load();
        using var owned = model;
        var options = new GenerationOptions { MaxNewTokens = 6 };
        string[] prompts = { "Once upon a time", "The little dog" };
        var shots = new PromptingBaseline(new[] { new GenerationExample("The cat said", " hello.") });

        using TrainingRun run = FineTuner.For(model)
            .WithLoRA(r: 4, alpha: 8)
            .WithOptions(o => { o.MaxSteps = 2; o.LearningRate = 2e-2; o.LogEverySteps = 0; })
            .WithValidation(Repeats(tokenizer))
            .WithEvaluation(e =>
            {
                e.Generation = new GenerationEvaluation(prompts.Select(p => new GenerationExample(p)).ToArray(), tokenizer) { Options = options, FormatCheck = o => o.Length > 0, BatchSize = 1 };
                e.PromptingBaseline = shots;
            })
            .Train(Repeats(tokenizer));

        (LlamaForCausalLM baseModel, _) = Load();
        string[] expected;
        using (baseModel)
        {
            baseModel.eval();
            var generator = new TextGenerator(baseModel, tokenizer);
            expected = prompts.Select(p => generator.Generate(shots.Prompt(p), options)).ToArray();
        }
        Assert.Equal(expected, run.PromptingBaseline!.Prompting.Outputs.Select(o => o.Output));
        Assert.Same(run.Evaluations[^1].Generation, run.PromptingBaseline.FineTuned);
        Assert.NotNull(run.PromptingBaseline.Prompting.FormatRate);
    }
}
