using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Generation;
using FineTuning.Models.Tokenizers;
using FineTuning.Training;

namespace FineTuning.Examples.InstructionTuning;

/// <summary>
/// The example's quality measures as the library's built-in evaluation (docs/evaluation.md): format-following rate and
/// exact titles on the held-out requests at step 0 and at the end, forgetting on the handwritten held-out stories, and a
/// 2-shot prompting baseline of the base model. Shared with examples/05-QLoRAComparison.
/// </summary>
internal static class TitleEvaluation
{
    /// <summary>The prompt as the template renders it ("Request: ...\n"; the answer follows directly).</summary>
    private static string Prompt(ChatExample chat) => $"Request: {chat.Messages.First(m => m.Role == ChatRole.User).Content}\n";

    private static string TitleLine(ChatExample chat) => chat.Messages.Last(m => m.Role == ChatRole.Assistant).Content.Split('\n')[0];

    /// <summary>The held-out requests labelled and packed as in training: the validation set (loss, token accuracy).</summary>
    public static List<PackedSequence> Validation(InstructionData data) =>
        SequencePacker.Pack(data.Labeler.Label(data.Split.Validation).Sequences, maxLength: InstructionData.RowLength).ToList();

    public static EvaluationOptions Create(InstructionData data, ITokenizer tokenizer, bool promptingBaseline = true)
    {
        Dictionary<string, string> titles = data.Split.Validation.ToDictionary(Prompt, TitleLine);
        var heldOut = data.Split.Validation.Select(c => new GenerationExample(Prompt(c))).ToList();
        // Two training requests with their title line and first sentence as the worked examples.
        var shots = data.Split.Train.Take(2)
            .Select(c => new GenerationExample(Prompt(c), string.Join('\n', c.Messages[^1].Content.Split('\n').Take(2))))
            .ToList();
        return new EvaluationOptions
        {
            Generation = new GenerationEvaluation(heldOut, tokenizer)
            {
                Options = new GenerationOptions { MaxNewTokens = 24 },
                FormatPattern = new Regex(@"^Title: [^\n]+\n"),
                Scorer = (prompt, output) => output.StartsWith(titles[prompt] + "\n", StringComparison.Ordinal) ? 1 : 0,
            },
            Forgetting = new ForgettingCheck(data.HeldOutText),
            PromptingBaseline = promptingBaseline ? new PromptingBaseline(shots) : null,
        };
    }

    public static void Print(TrainingRun run)
    {
        EvaluationMetrics first = run.Evaluations[0], last = run.Evaluations[^1];
        Line("Before", first);
        Line("After ", last);
        if (run.Forgetting is { } f)
            Console.WriteLine($"Forgetting: held-out story perplexity {f.BeforePerplexity:F2} ({(f.AdaptersDisabled ? "adapters disabled" : "before training")}) -> {f.AfterPerplexity:F2} ({f.RelativeIncrease:+0%;-0%})");
        if (run.PromptingBaseline is { } p)
        {
            Console.WriteLine($"Prompting baseline, {p.Shots}-shot base model: {p.Prompting.FormatRate:P0} title lines ({p.Prompting.Score:P0} exact) in {p.Prompting.Elapsed.TotalSeconds:F1} s, peak {p.Prompting.PeakMemoryBytes / 1048576} MiB");
            Console.WriteLine($"  fine-tuned: {p.FineTuned.FormatRate:P0} title lines ({p.FineTuned.Score:P0} exact) in {p.FineTuned.Elapsed.TotalSeconds:F1} s, peak {p.FineTuned.PeakMemoryBytes / 1048576} MiB, after {p.TrainingTime.TotalSeconds:F0} s of training");
        }
        foreach (TrainingWarning w in run.Warnings) Console.WriteLine($"warning: {w.Code} at step {w.Step}: {w.Message}");
    }

    private static void Line(string when, EvaluationMetrics m)
    {
        GeneratedOutput sample = m.Generation!.Outputs[0];
        Console.WriteLine($"{when} (step {m.Step}): {m.Metrics[MetricNames.FormatRate]:P0} of held-out requests start with a title line " +
                          $"({m.Metrics[MetricNames.Score]:P0} with the exact title); validation loss {m.Loss:F3}, token accuracy {m.Metrics[MetricNames.MeanTokenAccuracy]:P0}");
        Console.WriteLine($"  e.g. \"{sample.Prompt.TrimEnd()}\" -> \"{sample.Output.Replace("\n", "\\n", StringComparison.Ordinal)}...\"");
    }
}
