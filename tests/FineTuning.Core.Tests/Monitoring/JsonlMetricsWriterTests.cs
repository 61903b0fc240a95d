using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Monitoring;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Core.Tests.Monitoring;

public sealed class JsonlMetricsWriterTests
{
    [Fact]
    public void Train_WithLoggingDirectory_WritesOneLinePerStepEvaluationAndWarningMatchingTheRun()
    {
        using var folder = new TempDirectory("ft-jsonl");
        using TrainingRun run = ScriptedRun.Train(b => b.WithCallback(new ScriptedRun.WarningInjector(5)), o => o.LoggingDirectory = folder.Path);

        List<JsonElement> lines = ReadLines(folder.File(JsonlMetricsWriter.DefaultFileName));
        List<JsonElement> steps = lines.Where(l => l.TryGetProperty("loss", out _)).ToList();
        List<JsonElement> evals = lines.Where(l => l.TryGetProperty("eval_loss", out _)).ToList();
        List<JsonElement> warnings = lines.Where(l => l.TryGetProperty("warning", out _)).ToList();
        Assert.Equal(lines.Count, steps.Count + evals.Count + warnings.Count);

        Assert.Equal(run.History.Count, steps.Count);
        for (int i = 0; i < steps.Count; i++)
        {
            StepMetrics expected = run.History[i];
            Assert.Equal(expected.Step, steps[i].GetProperty("step").GetInt64());
            Assert.Equal(expected.Epoch, steps[i].GetProperty("epoch").GetInt32());
            // Utf8JsonWriter writes the shortest text that round-trips, so the numbers come back bit for bit.
            Assert.Equal(expected.Loss, steps[i].GetProperty("loss").GetDouble());
            Assert.Equal(expected.LearningRate, steps[i].GetProperty("learning_rate").GetDouble());
            Assert.Equal(expected.GradientNorm, steps[i].GetProperty("grad_norm").GetDouble());
            Assert.Equal(expected.Targets, steps[i].GetProperty("num_targets").GetInt64());
        }
        Assert.Equal(run.Evaluations.Select(e => (e.Step, e.Loss)), evals.Select(e => (e.GetProperty("step").GetInt64(), e.GetProperty("eval_loss").GetDouble())));
        JsonElement warning = Assert.Single(warnings);
        Assert.Equal("overfitting", warning.GetProperty("warning").GetString());
        Assert.Equal(5, warning.GetProperty("step").GetInt64());
        // In log order: the warning of step 5 follows the line of step 5.
        int at = lines.FindIndex(l => l.TryGetProperty("warning", out _));
        Assert.Equal(5, lines[at - 1].GetProperty("step").GetInt64());
    }

    [Fact]
    public void OnEvaluate_NamedMetricsAndNonFiniteLoss_WritesEvalPrefixedKeysAndNull()
    {
        using var folder = new TempDirectory("ft-jsonl");
        string path = folder.File("m.jsonl");
        using (var writer = new JsonlMetricsWriter(path))
        {
            var evaluation = new EvaluationMetrics(7, double.NaN, 3)
            {
                Metrics = ImmutableDictionary<string, double>.Empty.Add("macro_f1", 0.25).Add("accuracy", 0.5),
            };
            writer.OnEvaluate(null!, evaluation);
        }

        JsonElement line = Assert.Single(ReadLines(path));
        Assert.Equal(JsonValueKind.Null, line.GetProperty("eval_loss").ValueKind);
        Assert.Equal(0.5, line.GetProperty("eval_accuracy").GetDouble());
        Assert.Equal(0.25, line.GetProperty("eval_macro_f1").GetDouble());
        Assert.Equal(new[] { "step", "eval_loss", "eval_perplexity", "eval_num_targets", "eval_accuracy", "eval_macro_f1" },
            line.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void OnStep_BeforeDispose_LineIsAlreadyInTheFile()
    {
        using var folder = new TempDirectory("ft-jsonl");
        string path = folder.File("m.jsonl");
        using var writer = new JsonlMetricsWriter(path);
        writer.OnStep(null!, new StepMetrics(1, 1, 2.5, 1e-3, 0.75, 10, 2, System.TimeSpan.FromMilliseconds(5)));

        // What a killed process leaves behind: the file as another reader sees it while the writer is still open.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        string text = new StreamReader(stream).ReadToEnd();
        Assert.EndsWith("\n", text, System.StringComparison.Ordinal);
        Assert.Equal(2.5, JsonDocument.Parse(text).RootElement.GetProperty("loss").GetDouble());
    }

    [Fact]
    public void Constructor_ExistingFile_AppendsAfterItsLines()
    {
        using var folder = new TempDirectory("ft-jsonl");
        string path = folder.File("m.jsonl");
        for (int run = 1; run <= 2; run++)
        {
            using var writer = new JsonlMetricsWriter(path);
            writer.OnWarning(null!, new TrainingWarning("forgetting", run, "m"));
        }

        Assert.Equal(new long[] { 1, 2 }, ReadLines(path).Select(l => l.GetProperty("step").GetInt64()));
    }

    private static List<JsonElement> ReadLines(string path) =>
        File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
}
