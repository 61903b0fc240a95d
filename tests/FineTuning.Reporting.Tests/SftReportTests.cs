using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Models.Llama;
using FineTuning.Sft;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Reporting.Tests;

/// <summary><c>WithReport</c> on the one-call SFT builder writes the run's report, SFT warnings included.</summary>
public sealed class SftReportTests
{
    [Fact]
    public void WithReport_SftRunWithUntrainedEosRow_WritesReportWithTaskMetricAndTheWarning()
    {
        using var folder = new TempDirectory("ft-sft-report");
        var tokenizer = new ByteTokenizer();
        string data = folder.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 10).Select(i => JsonSerializer.Serialize(new { prompt = $"Q{i}: two plus {i}?", completion = $" {i + 2}." })));
        using LlamaForCausalLM model = TinyModels.ByteLlama();
        Parameter embedding = model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter;
        using (no_grad()) embedding[tokenizer.EosId].zero_();
        embedding.requires_grad = false; // the EOS row stays untrained: an untrained_token warning at the end
        string report = Path.Combine(folder.Path, "report");

        using SftRun run = FineTuner.ForSft(model, tokenizer)
            .WithOptions(o => { o.Epochs = 1; o.BatchSize = 4; o.LearningRate = 1e-2; o.LogEverySteps = 0; })
            .WithSftOptions(o => { o.ValidationFraction = 0.2; o.Seed = 3; })
            .WithReport(report, new TrainingReportOptions { ChartWidth = 300, ChartHeight = 200 })
            .Train(data);

        Assert.Equal("untrained_token", Assert.Single(run.Warnings).Code);
        string html = File.ReadAllText(Path.Combine(report, "report.html"));
        Assert.Contains("<h2>1 warning</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<td>untrained_token</td>", html, StringComparison.Ordinal);
        Assert.Contains("TrainableTokenIndices = [2]", html, StringComparison.Ordinal);
        // 8 training examples in batches of 4: evaluations at steps 0 and 2, each with SFT's task metric.
        Assert.Equal(new long[] { 0, 2 }, run.Training.Evaluations.Select(e => e.Step));
        Assert.True(File.Exists(Path.Combine(report, "eval_mean_token_accuracy.png")));
    }
}
