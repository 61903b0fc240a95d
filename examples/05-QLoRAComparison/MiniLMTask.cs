using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Examples.QuickStart;
using FineTuning.Lora;
using FineTuning.Models.Bert;
using FineTuning.Monitoring;
using FineTuning.Quantization;
using FineTuning.Reporting;
using FineTuning.Training;
using TorchSharp;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>The quick start's task: all-MiniLM-L6-v2 + a mean-pooled linear head classifying real mail as spam or ham.</summary>
internal sealed class MiniLMTask : IComparisonTask
{
    private static readonly LoRATargets LoRATargetNames = LoRATargets.Names("query", "key", "value", "dense");

    public string Name => "minilm";

    public string Heading => "minilm: all-MiniLM-L6-v2 spam filter (the quick start's setup)";

    public string Setup =>
        "all-MiniLM-L6-v2 (`BertForSequenceClassification`, mean pooling, 2 labels) on the committed SpamAssassin subset " +
        "(600 train, 200 validation, 400 test mails, max 128 tokens), batch 16, 3 epochs, linear schedule with 10% warmup, " +
        "validation before and after training. LoRA r=8 alpha=16 on `query`, `key`, `value`, `dense` with `classifier` in " +
        "`ModulesToSave`, lr 1e-3; QLoRA quantizes `QuantizationTargets.AllLinear` (every encoder linear layer; the embeddings " +
        "stay in the parameter dtype); full fine-tuning lr 5e-5.";

    public string QualityNote => "accuracy on the 400 held-out test mails (load-only: the pretrained encoder with its untrained, seeded head)";

    public IReadOnlyList<string> Notes => Array.Empty<string>();

    public string? Unavailable() => null;

    public ConfigResult Run(Configuration configuration, bool smoke, PeakMeter memory, string reportFolder)
    {
        string here = AppContext.BaseDirectory;
        BertOnnxCheckpoint checkpoint = MiniLM.Load(Path.Combine(here, "models", "MiniLM"));
        WordPieceTokenizer tokenizer = checkpoint.CreateTokenizer();
        List<TextClassificationExample> Load(string split) => Mail.Read(Path.Combine(here, "data", "spam-assassin", split + ".jsonl"))
            .Select(m => new TextClassificationExample(tokenizer.Encode(m.Text, maxLength: 128), m.Label)).ToList();
        List<TextClassificationExample> train = Load("train"), validation = Load("validation"), test = Load("test");
        Console.WriteLine($"mails: {train.Count} train, {validation.Count} validation, {test.Count} test");

        using var model = new BertForSequenceClassification(checkpoint.CreateModel(), numLabels: 2, BertClassifierPooling.Mean);
        long pretrained = model.parameters().Sum(p => p.numel());
        var result = new ConfigResult { Task = Name, Config = configuration.Name, PretrainedParameters = pretrained };
        memory.EndPhase(PhaseNames.Load);
        if (!configuration.Trains)
        {
            string untrained = $"{FineTuner.For(model).WithOptions(o => o.BatchSize = 16).Evaluate(test).Metrics[MetricNames.Accuracy]:P1} (untrained head)";
            memory.EndPhase(PhaseNames.Evaluate);
            return result with { Quality = untrained, WeightBytesPerParameter = Memory.WeightBytesPerParameter(model, pretrained) };
        }

        FineTuner<TextClassificationExample> tuner = FineTuner.For(model);
        if (configuration.Method == Method.QLoRA)
        {
            tuner = tuner.WithQLoRA(new QuantizationOptions { Type = QuantizationType.NF4, DoubleQuantization = true, Targets = QuantizationTargets.AllLinear },
                r: 8, alpha: 16, targets: LoRATargetNames, configure: o => o.ModulesToSave.Add("classifier"));
        }
        else if (configuration.Method == Method.LoRA)
        {
            tuner = tuner.WithLoRA(r: 8, alpha: 16, targets: LoRATargetNames, configure: o => o.ModulesToSave.Add("classifier"));
        }
        var progress = new ConsoleProgressBar();
        var report = new ReportCallback(reportFolder, new TrainingReportOptions { Title = $"{Name}/{configuration.Name}: {configuration.Description}" });
        tuner = tuner
            .WithOptions(o =>
            {
                o.Epochs = 3;
                o.BatchSize = 16;
                o.LearningRate = configuration.Method == Method.Full ? 5e-5 : 1e-3;
                o.WarmupRatio = 0.1;
                o.LogEverySteps = 0;
                o.ParameterDType = configuration.BFloat16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;
                if (smoke) o.MaxSteps = Smoke.Steps;
            })
            .WithValidation(validation);
        using TrainingRun run = tuner.WithProgress(progress).WithCallback(report).Train(train);
        progress.Finish();
        memory.EndPhase(PhaseNames.Train);
        EvaluationMetrics first = run.Evaluations[0], last = run.Evaluations[^1];
        Console.WriteLine($"validation loss {first.Loss:F3} -> {last.Loss:F3}, accuracy {first.Metrics[MetricNames.Accuracy]:P1} -> {last.Metrics[MetricNames.Accuracy]:P1}");
        foreach (TrainingWarning w in run.Warnings) Console.WriteLine($"warning at step {w.Step} ({w.Code}): {w.Message}");
        double accuracy = tuner.Evaluate(test).Metrics[MetricNames.Accuracy];
        memory.EndPhase(PhaseNames.Evaluate);
        Console.WriteLine($"test accuracy {accuracy:P1}");
        return StepTimes.Add(result with { Quality = $"{accuracy:P1}", WeightBytesPerParameter = Memory.WeightBytesPerParameter(model, pretrained), ReportPath = report.LastReportPath }, run);
    }
}
