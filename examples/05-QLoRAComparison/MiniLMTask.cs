using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Examples.QuickStart;
using FineTuning.Lora;
using FineTuning.Models.Bert;
using FineTuning.Monitoring;
using FineTuning.Quantization;
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

    public ConfigResult Run(Configuration configuration, bool smoke, PeakMeter memory)
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
            string untrained = $"{Accuracy(model, test):P1} (untrained head)";
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
        using TrainingRun run = tuner
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
            .WithValidation(validation)
            .WithProgress(progress)
            .Train(train);
        progress.Finish();
        memory.EndPhase(PhaseNames.Train);
        Console.WriteLine($"validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[^1].Loss:F3}");
        double accuracy = Accuracy(model, test);
        memory.EndPhase(PhaseNames.Evaluate);
        Console.WriteLine($"test accuracy {accuracy:P1}");
        return StepTimes.Add(result with { Quality = $"{accuracy:P1}", WeightBytesPerParameter = Memory.WeightBytesPerParameter(model, pretrained) }, run);
    }

    private static double Accuracy(BertForSequenceClassification model, List<TextClassificationExample> test) =>
        model.Predict(test).Zip(test).Count(p => p.First == p.Second.Label) / (double)test.Count;
}
