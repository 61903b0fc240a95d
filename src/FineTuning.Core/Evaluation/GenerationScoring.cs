using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using FineTuning.Generation;
using TorchSharp;

namespace FineTuning.Evaluation;

/// <summary>Runs a <see cref="GenerationEvaluation"/> over a model and scores the outputs.</summary>
internal static class GenerationScoring
{
    /// <summary>Generates for every example (prompts rewritten by <paramref name="prompt"/>, e.g. a few-shot prefix) in evaluation mode.</summary>
    public static GenerationReport Run(torch.nn.Module module, GenerationEvaluation evaluation, Func<string, string>? prompt = null)
    {
        if (module is not ICausalLanguageModel model)
            throw new InvalidOperationException($"Generation evaluation needs a model that implements {nameof(ICausalLanguageModel)}; got {module.GetType().Name}.");
        var clock = Stopwatch.StartNew();
        using var memory = new MemorySampler();
        bool wasTraining = module.training;
        module.eval();
        var texts = new List<string>(evaluation.Examples.Count);
        try
        {
            var generator = new TextGenerator(model, evaluation.Tokenizer);
            for (int start = 0; start < evaluation.Examples.Count; start += evaluation.BatchSize)
            {
                string[] prompts = evaluation.Examples.Skip(start).Take(evaluation.BatchSize)
                    .Select(e => prompt is null ? e.Prompt : prompt(e.Prompt)).ToArray();
                texts.AddRange(generator.Generate(prompts, evaluation.Options));
            }
        }
        finally
        {
            module.train(wasTraining);
        }
        IReadOnlyList<GeneratedOutput> outputs = Score(evaluation, texts);
        return Summarise(outputs, clock.Elapsed, memory.Peak);
    }

    /// <summary>Scores <paramref name="texts"/> (one per example of <paramref name="evaluation"/>).</summary>
    public static IReadOnlyList<GeneratedOutput> Score(GenerationEvaluation evaluation, IReadOnlyList<string> texts)
    {
        Func<string, bool>? format = evaluation.Format;
        var outputs = new GeneratedOutput[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            GenerationExample example = evaluation.Examples[i];
            bool? exact = example.Reference is null ? null : string.Equals(texts[i].Trim(), example.Reference.Trim(), StringComparison.Ordinal);
            double? score = null;
            bool? follows = null;
            try
            {
                score = evaluation.Scorer?.Invoke(example.Prompt, texts[i]);
                follows = format?.Invoke(texts[i]);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException($"The generation scorer or format check threw on example {i} (prompt \"{Shorten(example.Prompt)}\"): {e.Message}", e);
            }
            if (score is { } s && !double.IsFinite(s))
                throw new InvalidOperationException($"The generation scorer returned {s} for example {i} (prompt \"{Shorten(example.Prompt)}\"); expected a finite number.");
            outputs[i] = new GeneratedOutput(example.Prompt, texts[i], example.Reference, exact, score, follows);
        }
        return outputs;
    }

    /// <summary>The means over <paramref name="outputs"/>.</summary>
    public static GenerationReport Summarise(IReadOnlyList<GeneratedOutput> outputs, TimeSpan elapsed, long? peakMemory)
    {
        double? Mean(IEnumerable<double> values)
        {
            double[] v = values.ToArray();
            return v.Length == 0 ? null : v.Average();
        }
        return new GenerationReport(
            outputs,
            Mean(outputs.Where(o => o.ExactMatch is not null).Select(o => o.ExactMatch!.Value ? 1.0 : 0.0)),
            Mean(outputs.Where(o => o.Score is not null).Select(o => o.Score!.Value)),
            Mean(outputs.Where(o => o.FollowsFormat is not null).Select(o => o.FollowsFormat!.Value ? 1.0 : 0.0)),
            elapsed,
            peakMemory);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
