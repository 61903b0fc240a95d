using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Lora.IA3;
using FineTuning.Lora.Peft;
using FineTuning.Models;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>Adapters record the base they were trained on (base_model_name_or_path, task_type) and warn when loaded onto another.</summary>
public sealed class BaseModelRecordTests : IDisposable
{
    private readonly TempDirectory _root = new("base-record");

    public void Dispose() => _root.Dispose();

    /// <summary>A tiny LLaMA checkpoint folder (the same weights each time: only the folder tells two bases apart).</summary>
    private string BaseFolder(string name)
    {
        string folder = Path.Combine(_root.Path, name);
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        HfCheckpoint.Save(model, folder);
        return folder;
    }

    private static List<TokenSequence> Counting(int count, int seed) => LlamaLoRATrainingTests.Counting(count, seed);

    private static JsonObject Config(string adapterDir) => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(adapterDir, AdapterFiles.ConfigFileName)))!;

    [Fact]
    public void WithIA3_OnTinyLlamaFromFolder_LearnsSavesBaseAndTask_AndReloadsIdentically()
    {
        using var scope = NewDisposeScope();
        string baseDir = BaseFolder("base");
        string adapterDir = Path.Combine(_root.Path, "ia3");
        using LlamaForCausalLM model = HfCheckpoint.Load<LlamaForCausalLM>(baseDir);
        Assert.Equal(baseDir, model.NameOrPath);

        using TrainingRun run = FineTuner.For(model)
            .WithIA3() // PEFT's LLaMA defaults: k_proj, v_proj, down_proj (feedforward)
            .WithOptions(o => { o.Epochs = 10; o.BatchSize = 8; o.LearningRate = 5e-2; o.Schedule = new ConstantSchedule(); })
            .WithValidation(Counting(16, seed: 2))
            .Train(Counting(64, seed: 1));
        Assert.True(run.Evaluations[^1].Loss < 0.9 * run.Evaluations[0].Loss, $"validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[^1].Loss:F3}");
        IReadOnlyList<(string Name, IA3Linear Layer)> layers = IA3Adapter.Layers(model);
        Assert.Equal(6, layers.Count);
        Assert.All(layers, l => Assert.Equal(l.Name.EndsWith("down_proj", StringComparison.Ordinal), l.Layer.IsFeedforward));
        run.SaveAdapter(adapterDir);

        JsonObject config = Config(adapterDir);
        Assert.Equal("IA3", (string?)config["peft_type"]);
        Assert.Equal(baseDir, (string?)config["base_model_name_or_path"]);
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);

        model.eval();
        Tensor input = tensor(new long[] { 1, 2, 3, 4, 5, 6 }).reshape(1, 6);
        Tensor expected = model.call(input);
        using LlamaForCausalLM fresh = HfCheckpoint.Load<LlamaForCausalLM>(baseDir);
        using var logger = new ListLogger();
        Assert.Empty(PeftAdapter.Load(fresh, adapterDir, logger));
        fresh.eval();
        Assert.True(fresh.call(input).equal(expected).all().item<bool>());
        Assert.Empty(logger.Entries);
    }

    [Fact]
    public void LoRA_SavedOverFolderModel_RecordsBase_AndLoadOntoAnotherBaseWarns()
    {
        string baseDir = BaseFolder("base"), otherDir = BaseFolder("other");
        string adapterDir = Path.Combine(_root.Path, "lora");
        using (LlamaForCausalLM model = HfCheckpoint.Load<LlamaForCausalLM>(baseDir))
        {
            new LoRAAdapter(new LoRAOptions { R = 2 }).Apply(model);
            PeftAdapter.Save(model, adapterDir);
        }
        JsonObject config = Config(adapterDir);
        Assert.Equal(baseDir, (string?)config["base_model_name_or_path"]);
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);

        using LlamaForCausalLM other = HfCheckpoint.Load<LlamaForCausalLM>(otherDir);
        using var logger = new ListLogger();
        string warning = Assert.Single(PeftAdapter.Load(other, adapterDir, logger));
        Assert.Contains(baseDir, warning, StringComparison.Ordinal);
        Assert.Contains(otherDir, warning, StringComparison.Ordinal);
        (LogLevel level, string message) = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains(otherDir, message, StringComparison.Ordinal);
        Assert.Equal(14, LoRA.Layers(other).Count); // loaded all the same: the shapes fit

        using LlamaForCausalLM same = HfCheckpoint.Load<LlamaForCausalLM>(baseDir + Path.DirectorySeparatorChar);
        Assert.Empty(PeftAdapter.Load(same, adapterDir, logger)); // the same folder, spelled with a trailing separator
    }

    [Fact]
    public void Save_UserSetNameAndTask_OverrideTheModels()
    {
        string adapterDir = Path.Combine(_root.Path, "named");
        using var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 8, IntermediateSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, VocabSize = 16, MaxPositionEmbeddings = 16,
        });
        Assert.Null(model.NameOrPath);
        model.NameOrPath = "HuggingFaceTB/SmolLM-135M";
        var adapter = new IA3Adapter(new IA3Options());
        adapter.Apply(model);
        AdapterFiles.Save(model, adapterDir, adapter);
        Assert.Equal("HuggingFaceTB/SmolLM-135M", (string?)Config(adapterDir)["base_model_name_or_path"]);
        AdapterFiles.Save(model, adapterDir, adapter, baseModelNameOrPath: "my-base", taskType: PeftTaskTypes.FeatureExtraction);
        Assert.Equal("my-base", (string?)Config(adapterDir)["base_model_name_or_path"]);
        Assert.Equal("FEATURE_EXTRACTION", (string?)Config(adapterDir)["task_type"]);
    }
}
