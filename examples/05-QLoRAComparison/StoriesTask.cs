using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Examples.InstructionTuning;
using FineTuning.Examples.QuickStart;
using FineTuning.Lora;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Monitoring;
using FineTuning.Quantization;
using FineTuning.Reporting;
using FineTuning.Training;
using TorchSharp;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>The instruction example's task: teach stories260K to start every requested story with its title line.</summary>
internal sealed class StoriesTask : IComparisonTask
{
    private const string ModelsVariable = "FINETUNING_MODELS_DIR";

    /// <summary>stories260K's MLP down projection has 172 inputs: no allowed block size (a power of two from 32 to 4096) divides it.</summary>
    private static readonly QuantizationTargets Quantized = QuantizationTargets.AllLinear.Except("down_proj");

    public string Name => "stories";

    public string Heading => "stories: stories260K instruction tuning (the instruction example's setup)";

    public string Setup =>
        "stories260K (Karpathy's tinyllamas, LLaMA architecture, 5 layers, hidden 64) learning to start each requested story " +
        "with `Title: {Name} and the {Thing}`: 200 training conversations + 10% replayed general stories packed into rows of " +
        "256 tokens, batch 4, 6 epochs, cosine schedule with 10% warmup, data seed 3. LoRA r=8 alpha=16 on every linear layer " +
        "but the head, lr 5e-3 (LoRA and QLoRA); full fine-tuning lr 1e-3.";

    public string QualityNote =>
        "the run's built-in evaluation, at step 0 -> at the end: share of the 50 held-out requests whose greedy answer starts " +
        "with exactly the expected title line (`score`), and the perplexity of six handwritten held-out stories before (adapters " +
        "disabled, or before the first step for full fine-tuning) -> after (the forgetting check; lower is better); load-only: " +
        "the pretrained model's validation loss and `mean_token_accuracy` on the held-out requests";

    public IReadOnlyList<string> Notes => new[]
    {
        "QLoRA here quantizes `QuantizationTargets.AllLinear.Except(\"down_proj\")`: the MLP's `down_proj` (172 inputs, not " +
        "divisible by any allowed block size, powers of two from 32 to 4096) stays dense in the parameter dtype, so the " +
        "QLoRA rows keep more bytes per parameter than a fully quantized model would.",
    };

    public string? Unavailable() =>
        File.Exists(Path.Combine(ModelsDir() ?? string.Empty, "stories260K.bin")) && File.Exists(Path.Combine(ModelsDir() ?? string.Empty, "tok512.bin"))
            ? null
            : $"{ModelsVariable} must name a folder containing stories260K/stories260K.bin and tok512.bin";

    private static string? ModelsDir()
    {
        string? root = Environment.GetEnvironmentVariable(ModelsVariable);
        return string.IsNullOrEmpty(root) ? null : Path.Combine(root, "stories260K");
    }

    public ConfigResult Run(Configuration configuration, bool smoke, PeakMeter memory, string reportFolder)
    {
        string modelDir = ModelsDir() ?? throw new InvalidOperationException(Unavailable());
        using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(modelDir, "stories260K.bin"));
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(modelDir, "tok512.bin"), model.Config.VocabSize);
        InstructionData data = InstructionData.Load(Path.Combine(AppContext.BaseDirectory, "data", "stories"), tokenizer);
        Console.WriteLine($"{data.Split.Train.Count} training conversations + {data.Replayed} replayed stories in {data.Rows.Count} rows; {data.Split.Validation.Count} held-out requests");

        long pretrained = model.parameters().Sum(p => p.numel());
        var result = new ConfigResult { Task = Name, Config = configuration.Name, PretrainedParameters = pretrained };
        memory.EndPhase(PhaseNames.Load);
        List<PackedSequence> validation = TitleEvaluation.Validation(data);
        FineTuner<PackedSequence> tuner = FineTuner.For(model, new PackedCausalLMObjective());
        if (!configuration.Trains)
        {
            EvaluationMetrics untrained = tuner.Evaluate(validation);
            memory.EndPhase(PhaseNames.Evaluate);
            return result with
            {
                Quality = $"validation loss {untrained.Loss:F3}, token accuracy {untrained.Metrics[MetricNames.MeanTokenAccuracy]:P0}",
                WeightBytesPerParameter = Memory.WeightBytesPerParameter(model, pretrained),
            };
        }

        if (configuration.Method == Method.QLoRA)
            tuner = tuner.WithQLoRA(new QuantizationOptions { Type = QuantizationType.NF4, DoubleQuantization = true, Targets = Quantized }, r: 8, alpha: 16);
        else if (configuration.Method == Method.LoRA)
            tuner = tuner.WithLoRA(r: 8, alpha: 16);
        var progress = new ConsoleProgressBar();
        var report = new ReportCallback(reportFolder, new TrainingReportOptions { Title = $"{Name}/{configuration.Name}: {configuration.Description}" });
        using TrainingRun run = tuner
            .WithOptions(o =>
            {
                o.Epochs = 6;
                o.BatchSize = 4;
                o.LearningRate = configuration.Method == Method.Full ? 1e-3 : 5e-3;
                o.WarmupRatio = 0.1;
                o.Schedule = new CosineSchedule();
                o.Seed = 3;
                o.ParameterDType = configuration.BFloat16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;
                if (smoke) o.MaxSteps = Smoke.Steps;
            })
            .WithValidation(validation)
            .WithEvaluation(TitleEvaluation.Create(data, tokenizer, promptingBaseline: false))
            .WithProgress(progress)
            .WithCallback(report)
            .Train(data.Rows);
        progress.Finish();
        // The evaluation (generation at step 0 and at the end, forgetting) ran inside Train: the evaluate phase is empty.
        memory.EndPhase(PhaseNames.Train);
        memory.EndPhase(PhaseNames.Evaluate);
        Console.WriteLine($"{run.StepsCompleted} steps, loss {run.History[0].Loss:F3} -> {run.FinalLoss:F3}");
        TitleEvaluation.Print(run);
        EvaluationMetrics first = run.Evaluations[0], last = run.Evaluations[^1];
        ForgettingReport forgetting = run.Forgetting!;
        string quality = $"{first.Metrics[MetricNames.Score]:P0} -> {last.Metrics[MetricNames.Score]:P0} exact titles, " +
                         $"ppl {forgetting.BeforePerplexity:F2} -> {forgetting.AfterPerplexity:F2}";
        return StepTimes.Add(result with { Quality = quality, WeightBytesPerParameter = Memory.WeightBytesPerParameter(model, pretrained), ReportPath = report.LastReportPath }, run);
    }
}
