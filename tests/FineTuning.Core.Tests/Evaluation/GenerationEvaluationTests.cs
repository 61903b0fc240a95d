using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FineTuning.Evaluation;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Core.Tests.Evaluation;

/// <summary>Generation metrics and the prompting baseline on the real stories260K model (tiny, fast).</summary>
public sealed class GenerationEvaluationTests(ITestOutputHelper output)
{
    private static readonly string[] Prompts = { "Once upon a time, there was a little girl named", "One day, she saw a big", "Lily was sad and" };
    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 8 };

    private static (LlamaForCausalLM Model, Llama2CTokenizer Tokenizer) Load()
    {
        string dir = ModelFiles.Stories260K();
        LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin"));
        model.eval();
        return (model, Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), model.Config.VocabSize));
    }

    private static TokenSequence[] Story(ITokenizer tokenizer, string text) =>
        new[] { TokenSequence.ForLanguageModeling(tokenizer.Encode(text, addBos: true).Select(i => (long)i).ToArray()) };

    private static double ScoreLily(string prompt, string output) => output.Contains("Lily", StringComparison.Ordinal) ? 1 : 0;

    [SkippableFact]
    public void Train_GenerationSet_StepZeroAndFinalMetricsScoreTheGreedyOutputsOfThoseModels()
    {
        (LlamaForCausalLM model, Llama2CTokenizer tokenizer) = Load();
        using var owned = model;
        var generator = new TextGenerator(model, tokenizer);
        string[] before = Prompts.Select(p => generator.Generate(p, Greedy)).ToArray();
        // References: the base model's own output for the first two prompts, something else for the third.
        GenerationExample[] examples = Prompts.Select((p, i) => new GenerationExample(p, i < 2 ? before[i] : "not what it says")).ToArray();
        var regex = new Regex(@"^\s*[A-Za-z]");

        using TrainingRun run = FineTuner.For(model)
            .WithOptions(o => { o.MaxSteps = 2; o.LearningRate = 5e-3; o.LogEverySteps = 0; })
            .WithValidation(Story(tokenizer, "Tom had a red ball. He liked to play with it every day."))
            .WithEvaluation(e => e.Generation = new GenerationEvaluation(examples, tokenizer) { Options = Greedy, Scorer = ScoreLily, FormatPattern = regex, BatchSize = 1 })
            .Train(Story(tokenizer, "The cat sat on the mat. The cat was happy and sleepy."));

        EvaluationMetrics first = run.Evaluations[0], last = run.Evaluations[^1];
        Assert.Equal(before, first.Generation!.Outputs.Select(o => o.Output));
        Assert.Equal(2.0 / 3, first.Metrics[MetricNames.ExactMatch], 15);
        Assert.Equal(before.Average(o => ScoreLily("", o)), first.Metrics[MetricNames.Score], 15);
        Assert.Equal(before.Average(o => regex.IsMatch(o) ? 1.0 : 0.0), first.Metrics[MetricNames.FormatRate], 15);

        string[] after = Prompts.Select(p => generator.Generate(p, Greedy)).ToArray(); // the trained model, generated here
        Assert.Equal(2, last.Step);
        Assert.Equal(after, last.Generation!.Outputs.Select(o => o.Output));
        Assert.Equal(after.Select((o, i) => o.Trim() == examples[i].Reference!.Trim() ? 1.0 : 0.0).Average(), last.Metrics[MetricNames.ExactMatch], 15);
        Assert.True(last.Generation.Elapsed > TimeSpan.Zero);
        Assert.All(run.Evaluations.Skip(1).SkipLast(1), e => Assert.Null(e.Generation)); // only at step 0 and at the end
    }

    [SkippableFact]
    public void Train_PromptingBaseline_ScoresTheFewShotBaseModelNextToTheFineTunedOne()
    {
        (LlamaForCausalLM model, Llama2CTokenizer tokenizer) = Load();
        using var owned = model;
        var shots = new PromptingBaseline(new[] { new GenerationExample("The dog ran to", " the park."), new GenerationExample("The sun was", " hot.") });
        GenerationExample[] examples = Prompts.Select(p => new GenerationExample(p)).ToArray();

        // Independent: the few-shot prompts on a separately loaded base model.
        (LlamaForCausalLM baseModel, _) = Load();
        string[] expected;
        using (baseModel)
        {
            var baseGenerator = new TextGenerator(baseModel, tokenizer);
            expected = Prompts.Select(p => baseGenerator.Generate("The dog ran to the park.\n\nThe sun was hot.\n\n" + p, Greedy)).ToArray();
        }

        using TrainingRun run = FineTuner.For(model)
            .WithOptions(o => { o.MaxSteps = 2; o.LearningRate = 5e-3; o.LogEverySteps = 0; })
            .WithValidation(Story(tokenizer, "Tom had a red ball."))
            .WithEvaluation(e =>
            {
                e.Generation = new GenerationEvaluation(examples, tokenizer) { Options = Greedy, Scorer = ScoreLily, BatchSize = 1 };
                e.PromptingBaseline = shots;
            })
            .Train(Story(tokenizer, "The cat sat on the mat."));

        PromptingBaselineReport report = run.PromptingBaseline!;
        output.WriteLine($"prompting: {report.Prompting.Elapsed.TotalMilliseconds:F0} ms, peak {report.Prompting.PeakMemoryBytes / 1048576} MiB; fine-tuned: {report.FineTuned.Elapsed.TotalMilliseconds:F0} ms, peak {report.FineTuned.PeakMemoryBytes / 1048576} MiB; training {report.TrainingTime.TotalMilliseconds:F0} ms");
        Assert.Equal(2, report.Shots);
        Assert.Equal(expected, report.Prompting.Outputs.Select(o => o.Output));
        Assert.Equal(Prompts, report.Prompting.Outputs.Select(o => o.Prompt)); // scored against the plain prompt
        Assert.Equal(expected.Average(o => ScoreLily("", o)), report.Prompting.Score!.Value, 15);
        Assert.Same(run.Evaluations[^1].Generation, report.FineTuned);
        Assert.True(report.Prompting.Elapsed > TimeSpan.Zero && report.TrainingTime > TimeSpan.Zero);
        Assert.True(report.Prompting.PeakMemoryBytes > 0 && report.FineTuned.PeakMemoryBytes > 0);
    }

    [Fact]
    public void Score_ScorerReturnsNaN_ThrowsNamingTheExample()
    {
        var evaluation = new GenerationEvaluation(new[] { new GenerationExample("a"), new GenerationExample("b") }, new ByteTokenizer())
        {
            Scorer = (prompt, output) => prompt == "b" ? double.NaN : 1,
        };
        var e = Assert.Throws<InvalidOperationException>(() => GenerationScoring.Score(evaluation, new[] { "x", "y" }));
        Assert.Contains("returned NaN for example 1 (prompt \"b\")", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithEvaluation_GenerationProblems_AreListedTogether()
    {
        using var model = TinyModels.Mlp(2, 2, 2, seed: 1);
        var evaluation = new GenerationEvaluation(new[] { new GenerationExample("a") }, new ByteTokenizer()) { BatchSize = 0 };
        var e = Assert.Throws<InvalidConfigurationException>(() => FineTuner.For(model, new VectorClassificationObjective())
            .WithEvaluation(o => { o.Generation = evaluation; o.PromptingBaseline = null; })
            .Train(new[] { new LabeledVector(new float[] { 1, 1 }, 1) }));
        Assert.Contains(e.Problems, p => p.Contains("BatchSize must be at least 1 (was 0)", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("measures nothing", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("needs a validation set", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("needs a model that generates text (ICausalLanguageModel); got Mlp", StringComparison.Ordinal));
    }

    [Fact]
    public void Constructors_BadInput_ThrowSaying()
    {
        Assert.Throws<ArgumentException>(() => new GenerationEvaluation(Array.Empty<GenerationExample>(), new ByteTokenizer()));
        var e = Assert.Throws<ArgumentException>(() => new PromptingBaseline(new[] { new GenerationExample("q", "a"), new GenerationExample("q2") }));
        Assert.Contains("Shot 1", e.Message, StringComparison.Ordinal);
        var options = new EvaluationOptions { PromptingBaseline = new PromptingBaseline(new[] { new GenerationExample("q", "a") }) };
        using var model = TinyModels.Mlp(2, 2, 2, seed: 1);
        var error = Assert.Throws<InvalidConfigurationException>(() => FineTuner.For(model, new VectorClassificationObjective())
            .WithEvaluation(options).Train(new[] { new LabeledVector(new float[] { 1, 1 }, 1) }));
        Assert.Contains(error.Problems, p => p.Contains("PromptingBaseline needs Generation", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void GeneralCorpus_SimpleEnglish_IsTextStories260KHandlesWell()
    {
        (LlamaForCausalLM model, Llama2CTokenizer tokenizer) = Load();
        using var owned = model;
        ForgettingCheck check = ForgettingCheck.FromText(GeneralCorpus.SimpleEnglish, tokenizer);
        double perplexity = FineTuner.For(model).Evaluate(check.GeneralText).Perplexity;
        output.WriteLine($"stories260K perplexity on GeneralCorpus.SimpleEnglish: {perplexity:F3} over {check.GeneralText.Sum(s => s.TargetCount)} tokens");
        // Uniform guessing over 512 tokens gives 512; a model that knows this kind of text is far below.
        Assert.True(perplexity < 512 / 10.0, $"perplexity {perplexity}");
        Assert.Equal(GeneralCorpus.SimpleEnglish.Count, check.GeneralText.Count);
    }
}
