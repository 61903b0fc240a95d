using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Gpt2;
using FineTuning.Models.HuggingFace;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>GPT-2's Conv1D layers are Linear modules under HF names, so LoRA finds and wraps them.</summary>
public sealed class Gpt2LoRATests
{
    [Fact]
    public void WithLoRA_OnTinyGpt2_WrapsConv1DLayersByHfNameAndLossFalls()
    {
        var config = new Gpt2Config { VocabSize = 48, NPositions = 16, NEmbd = 32, NLayer = 2, NHead = 4, EmbdPdrop = 0, AttnPdrop = 0, ResidPdrop = 0 };
        using var model = new Gpt2LMHeadModel(config);
        using (var g = new Generator(5)) model.InitializeWeights(g, std: 0.3);
        var random = new Random(1);
        List<TokenSequence> data = Enumerable.Range(0, 32).Select(_ =>
        {
            int start = random.Next(48);
            return TokenSequence.ForLanguageModeling(Enumerable.Range(0, 12).Select(i => (long)((start + i) % 48)).ToArray());
        }).ToList();

        using TrainingRun run = FineTuner.For(model)
            .WithLoRA(r: 8, alpha: 16, targets: LoRATargets.Names("c_attn", "c_proj", "c_fc"))
            .WithOptions(o => { o.Epochs = 4; o.BatchSize = 8; o.LearningRate = 1e-2; o.Schedule = new ConstantSchedule(); })
            .Train(data);

        string[] names = LoRA.Layers(model).Select(l => l.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(8, names.Length);
        Assert.Contains("transformer.h.0.attn.c_attn", names);
        Assert.Contains("transformer.h.1.mlp.c_fc", names);
        Assert.True(run.History[^1].Loss < 0.8 * run.History[0].Loss, $"loss {run.History[0].Loss:F3} -> {run.History[^1].Loss:F3}");

        // A wrapped model is no longer a plain HF GPT-2: saving it as one is refused before anything is written.
        string folder = Path.Combine(Path.GetTempPath(), "ft-gpt2-lora-" + Guid.NewGuid().ToString("N"));
        try
        {
            Assert.Throws<ArgumentException>(() => HfCheckpoint.Save(model, folder));
            Assert.False(Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any(), "nothing may be written");
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
