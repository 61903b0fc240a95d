using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using Microsoft.Extensions.Logging;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Adapters;

public sealed class AdapterFilesTests : IDisposable
{
    private readonly TempDirectory _dir = new("adapter-files");

    public void Dispose() => _dir.Dispose();

    private static Tensor Input() => linspace(-1, 1, 10).reshape(5, 2);

    private string ConfigPath => Path.Combine(_dir.Path, AdapterFiles.ConfigFileName);

    private void SaveTrained(nn.Module model, ModuleTargets targets)
    {
        var adapter = new BiasOnlyAdapter(targets);
        adapter.Apply(model);
        using (no_grad())
        {
            foreach (Tensor bias in adapter.AdapterState(model).Values) bias.add_(0.75);
        }
        AdapterFiles.Save(model, _dir.Path, adapter);
    }

    [Fact]
    public void SaveThenLoad_ThirdPartyAdapter_RestoresItsTensorsAndFreezing()
    {
        using var scope = NewDisposeScope();
        using Mlp trained = TinyModels.Mlp(2, 3, 2, seed: 1);
        SaveTrained(trained, ModuleTargets.Names("fc2"));
        Tensor expected = trained.call(Input());

        using Mlp fresh = TinyModels.Mlp(2, 3, 2, seed: 1);
        Assert.False(fresh.call(Input()).allclose(expected), "the saved change must be visible, or the test proves nothing");
        AdapterLoadResult result = AdapterFiles.Load(fresh, _dir.Path, new[] { BiasOnlyAdapter.Format });

        Assert.True(fresh.call(Input()).equal(expected).all().item<bool>());
        Assert.Equal("BITFIT", result.PeftType);
        Assert.Empty(result.Warnings);
        Assert.Equal(new[] { "fc2.bias" }, fresh.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name));
        using SafeTensorsReader reader = SafeTensorsReader.Open(Path.Combine(_dir.Path, AdapterFiles.WeightsFileName));
        Assert.Equal(new[] { "base_model.model.fc2.bias" }, reader.Tensors.Select(t => t.Name));
        JsonObject config = JsonNode.Parse(File.ReadAllText(ConfigPath))!.AsObject();
        Assert.Equal(new[] { "base_model_name_or_path", "inference_mode", "peft_type", "revision", "target_modules", "task_type" }, config.Select(p => p.Key));
        Assert.Null(config["task_type"]); // an Mlp is no IPretrainedModel
    }

    [Fact]
    public void Load_ModelFromAnotherBase_WarnsThroughLoggerAndResult()
    {
        using var trained = new LlamaForCausalLM(Tiny()) { NameOrPath = "org/base-a" };
        SaveTrained(trained, ModuleTargets.Names("q_proj"));
        Assert.Equal("CAUSAL_LM", (string?)JsonNode.Parse(File.ReadAllText(ConfigPath))!["task_type"]);
        using (var same = new LlamaForCausalLM(Tiny()) { NameOrPath = "org/base-a" })
        {
            AdapterLoadResult onSame = AdapterFiles.Load(same, _dir.Path, new[] { BiasOnlyAdapter.Format });
            Assert.Equal("org/base-a", onSame.BaseModelNameOrPath);
            Assert.Empty(onSame.Warnings);
        }

        using var other = new LlamaForCausalLM(Tiny()) { NameOrPath = "org/base-b" };
        using var logger = new ListLogger();
        AdapterLoadResult result = AdapterFiles.Load(other, _dir.Path, new[] { BiasOnlyAdapter.Format }, logger);
        Assert.Contains("\"org/base-a\"", Assert.Single(result.Warnings), StringComparison.Ordinal);
        (LogLevel level, string message) = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("org/base-b", message, StringComparison.Ordinal);

        using var unnamed = new LlamaForCausalLM(Tiny());
        Assert.Empty(AdapterFiles.Load(unnamed, _dir.Path, new[] { BiasOnlyAdapter.Format }).Warnings); // nothing to compare with
    }

    [Theory]
    [InlineData("{\"peft_type\": \"\\ud800\", \"target_modules\": [\"fc2\", null]}", "lone surrogate")] // found by the Lora fuzz test
    [InlineData("{\"peft_type\": \"BITFIT\", \"peft_type\": \"LORA\"}", "more than once")]
    public void ReadPeftType_MalformedJson_ThrowsAdapterFileExceptionNotARawJsonError(string text, string expected)
    {
        File.WriteAllText(ConfigPath, text);
        var e = Assert.Throws<AdapterFileException>(() => AdapterFiles.ReadPeftType(_dir.Path));
        Assert.StartsWith(ConfigPath, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BadFolders_ThrowTypedErrorsNamingFileAndField()
    {
        using Mlp model = TinyModels.Mlp(2, 3, 2, seed: 1);
        var formats = new[] { BiasOnlyAdapter.Format };
        Assert.StartsWith(ConfigPath, Assert.Throws<AdapterFileException>(() => AdapterFiles.Load(model, _dir.Path, formats)).Message, StringComparison.Ordinal);
        File.WriteAllText(ConfigPath, "{\n  \"peft_type\": \"BITFIT\",\n  \"target_modules\": [\"fc2\"\n}");
        Assert.Contains("line 4", Assert.Throws<AdapterFileException>(() => AdapterFiles.Load(model, _dir.Path, formats)).Message, StringComparison.Ordinal);
        File.WriteAllText(ConfigPath, "{\"target_modules\": [\"fc2\"]}");
        Assert.Contains("\"peft_type\" is missing", Assert.Throws<AdapterFileException>(() => AdapterFiles.Load(model, _dir.Path, formats)).Message, StringComparison.Ordinal);
        File.WriteAllText(ConfigPath, "{\"peft_type\": \"LOHA\"}");
        Assert.Contains("reads BITFIT", Assert.Throws<AdapterFileException>(() => AdapterFiles.Load(model, _dir.Path, formats)).Message, StringComparison.Ordinal);
        File.WriteAllText(ConfigPath, "{\"peft_type\": \"BITFIT\", \"target_modules\": [\"fc9\"]}");
        Assert.Contains(AdapterFiles.WeightsFileName, Assert.Throws<AdapterFileException>(() => AdapterFiles.Load(model, _dir.Path, formats)).Message, StringComparison.Ordinal);
        SafeTensorsWriter.Write(Path.Combine(_dir.Path, AdapterFiles.WeightsFileName), new Dictionary<string, Tensor> { ["base_model.model.fc2.bias"] = zeros(5) });
        Assert.Contains("No linear layer matches", Assert.Throws<AdapterFileException>(() => AdapterFiles.Load(model, _dir.Path, formats)).Message, StringComparison.Ordinal);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad)); // refused before changing anything
        File.WriteAllText(ConfigPath, "{\"peft_type\": \"BITFIT\", \"target_modules\": [\"fc2\"]}");
        var ex = Assert.Throws<AdapterFileException>(() => AdapterFiles.Load(model, _dir.Path, formats));
        Assert.Contains("\"base_model.model.fc2.bias\" has shape [5] but the model needs [2]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_AdapterWithNothingToSave_IsRefusedBeforeWriting()
    {
        using Mlp model = TinyModels.Mlp(2, 3, 2, seed: 1);
        Assert.Throws<InvalidOperationException>(() => AdapterFiles.Save(model, _dir.Path, new BiasOnlyAdapter(ModuleTargets.Names("fc9"))));
        Assert.False(File.Exists(ConfigPath));
    }

    private static LlamaConfig Tiny() => new()
    {
        HiddenSize = 8, IntermediateSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, VocabSize = 16, MaxPositionEmbeddings = 16, AttentionBias = true,
    };
}
